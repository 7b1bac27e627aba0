"""Fireworks AI (``https://api.fireworks.ai/inference/v1``): OpenAI's format; models named
``accounts/<account>/models/<name>``."""

from __future__ import annotations

import re

from byokgate.providers.base import Capabilities, ModelCatalog
from byokgate.providers.openai_compat import OpenAICompatible

_MODELS = "accounts/fireworks/models/"


class FireworksProvider(OpenAICompatible):
    name = "fireworks"
    title = "Fireworks AI"
    default_base_url = "https://api.fireworks.ai/inference/v1"
    key_prefixes = ("fw_",)
    capabilities = Capabilities(embeddings=True, vision=True, json_mode=True)
    catalog = ModelCatalog(
        models=(
            *(
                _MODELS + name
                for name in ("kimi-k2p6", "deepseek-v4-pro", "glm-5p1", "gpt-oss-120b", "gpt-oss-20b")
            ),
            _MODELS + "llama-v3p3-70b-instruct",
            "nomic-ai/nomic-embed-text-v1.5",
        ),
        pattern=re.compile(r"^accounts/[^/]+/(models|routers|deployedModels)/"),
        embedding_models=("nomic-ai/nomic-embed-text-v1.5",),
    )
