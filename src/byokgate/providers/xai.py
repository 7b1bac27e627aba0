"""xAI (``https://api.x.ai/v1``): OpenAI's format, but errors as ``{"code", "error"}`` and a wrong key
answered 400 (read here as the 401 it is)."""

from __future__ import annotations

import re

from byokgate.domain.upstream import KeyCheckOutcome, UpstreamError
from byokgate.providers.base import Capabilities, ModelCatalog
from byokgate.providers.openai_compat import OpenAICompatible, openai_shaped_error

_BAD_KEY = ("Incorrect API key provided", "No API key provided")


class XAIProvider(OpenAICompatible):
    name = "xai"
    title = "xAI"
    telemetry_name = "x_ai"  # its gen_ai.provider.name in OpenTelemetry
    default_base_url = "https://api.x.ai/v1"
    key_prefixes = ("xai-",)
    capabilities = Capabilities(vision=True, json_mode=True)
    catalog = ModelCatalog(
        models=("grok-4.7", "grok-4.6", "grok-4.5", "grok-4.3", "grok-4.20-0309-reasoning", "grok-build-0.1"),
        pattern=re.compile(r"^grok-"),
        vendors=("x-ai",),
    )

    def parse_error(self, status: int, body: bytes) -> UpstreamError:
        error = openai_shaped_error(status, body)
        if status == 400 and error.message.startswith(_BAD_KEY):
            return UpstreamError(401, error.message, "authentication_error", code="invalid_api_key")
        return error

    def key_check_outcome(self, status: int, body: bytes) -> KeyCheckOutcome:
        if self.parse_error(status, body).status == 401:
            return KeyCheckOutcome.INVALID
        return super().key_check_outcome(status, body)
