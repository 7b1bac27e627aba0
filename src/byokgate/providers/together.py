"""Together AI (``https://api.together.xyz/v1``): OpenAI's format; models named ``Org/Model-Name``."""

from __future__ import annotations

import re

from byokgate.providers.base import Capabilities, ModelCatalog
from byokgate.providers.openai_compat import OpenAICompatible


class TogetherProvider(OpenAICompatible):
    name = "together"
    title = "Together AI"
    default_base_url = "https://api.together.xyz/v1"
    key_prefixes = ("tgp_v1_",)  # older keys: 64 hex characters, no prefix
    capabilities = Capabilities(embeddings=True, vision=True, json_mode=True)
    catalog = ModelCatalog(
        models=("meta-llama/Llama-3.3-70B-Instruct-Turbo", "BAAI/bge-base-en-v1.5"),
        # ``org/Model`` with a capital letter: OpenRouter's names and Groq's are all lower case.
        pattern=re.compile(r"^[\w.-]+/[\w.-]*[A-Z][\w.-]*$"),
        embedding_models=("BAAI/bge-base-en-v1.5",),
    )
