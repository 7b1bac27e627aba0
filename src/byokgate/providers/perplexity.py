"""Perplexity Sonar (``https://api.perplexity.ai``, no ``/v1``): OpenAI's format without tools; answers
carry ``citations`` and ``search_results``, stream chunks the usage so far and no ``[DONE]``.

Perplexity announced the end of Sonar Chat Completions for 2026-09-27 (its Agent API speaks the Responses
format); ``BYOKGATE_PERPLEXITY_BASE_URL`` points this adapter elsewhere (e.g. its chat-completions
Gateway, ``https://api.perplexity.ai/router/v1``).
"""

from __future__ import annotations

import re

from byokgate.providers.base import Capabilities, ModelCatalog
from byokgate.providers.openai_compat import OpenAICompatible


class PerplexityProvider(OpenAICompatible):
    name = "perplexity"
    title = "Perplexity"
    default_base_url = "https://api.perplexity.ai"
    key_prefixes = ("pplx-",)
    capabilities = Capabilities(tools=False, json_mode=True)
    catalog = ModelCatalog(
        models=("sonar", "sonar-pro", "sonar-reasoning-pro", "sonar-deep-research"),
        pattern=re.compile(r"^sonar(-|$)"),
        vendors=("perplexity",),
    )
