"""Mistral AI (``https://api.mistral.ai/v1``): OpenAI's format; keys have no prefix (32 alphanumerics)."""

from __future__ import annotations

import re

from byokgate.providers.base import Capabilities, ModelCatalog
from byokgate.providers.openai_compat import OpenAICompatible


class MistralProvider(OpenAICompatible):
    name = "mistral"
    title = "Mistral AI"
    telemetry_name = "mistral_ai"  # its gen_ai.provider.name in OpenTelemetry
    default_base_url = "https://api.mistral.ai/v1"
    capabilities = Capabilities(
        embeddings=True, vision=True, json_mode=True, prefill=True, prefill_marker="prefix"
    )
    passed_headers = ("retry-after", "x-ratelimit-", "mistral-correlation-id")
    request_id_headers = ("mistral-correlation-id", "x-kong-request-id")
    catalog = ModelCatalog(
        models=(
            "mistral-large-latest",
            "mistral-medium-latest",
            "mistral-small-latest",
            "ministral-8b-latest",
            "codestral-latest",
            "mistral-embed",
            "codestral-embed",
        ),
        pattern=re.compile(
            r"^(mistral-|ministral-|magistral-|codestral-|devstral-|pixtral-|open-mi[sx]tral-)"
        ),
        vendors=("mistralai",),
        aliases={
            "mistralai/mistral-large": "mistral-large-latest",
            "mistralai/mistral-small": "mistral-small-latest",
        },
        embedding_models=("mistral-embed", "codestral-embed"),
    )
