"""Cerebras (``https://api.cerebras.ai/v1``): OpenAI's format, errors as flat objects."""

from __future__ import annotations

import re

from byokgate.providers.base import Capabilities, ModelCatalog
from byokgate.providers.openai_compat import OpenAICompatible


class CerebrasProvider(OpenAICompatible):
    name = "cerebras"
    title = "Cerebras"
    default_base_url = "https://api.cerebras.ai/v1"
    key_prefixes = ("csk-",)
    capabilities = Capabilities(json_mode=True)
    catalog = ModelCatalog(
        models=("gpt-oss-120b",),  # listed: OpenAI's "gpt-" pattern would take it otherwise
        pattern=re.compile(r"^(qwen-\d|zai-glm-|gemma-\d+-)"),
    )
