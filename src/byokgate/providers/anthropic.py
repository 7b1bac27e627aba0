from __future__ import annotations

import re
from typing import ClassVar

from byokgate.domain.secret import Secret
from byokgate.domain.upstream import KeyCheckOutcome, UpstreamRequest
from byokgate.providers.base import ModelCatalog, NotTranslatedYet, generic_outcome

API_VERSION = "2023-06-01"


class AnthropicProvider(NotTranslatedYet):
    name: ClassVar[str] = "anthropic"
    title: ClassVar[str] = "Anthropic"
    key_prefixes: ClassVar[tuple[str, ...]] = ("sk-ant-api03-", "sk-ant-admin01-", "sk-ant-")
    accepts_byok: ClassVar[bool] = True
    catalog: ClassVar[ModelCatalog] = ModelCatalog(
        models=(
            "claude-3-5-sonnet-20241022",
            "claude-3-5-sonnet-20240620",
            "claude-3-5-haiku-20241022",
            "claude-3-7-sonnet-20250219",
            "claude-3-opus-20240229",
            "claude-3-sonnet-20240229",
            "claude-3-haiku-20240307",
            "claude-sonnet-4-20250514",
            "claude-opus-4-20250514",
        ),
        pattern=re.compile(r"^claude-"),
        vendors=("anthropic",),
        aliases={
            "anthropic/claude-3-opus": "claude-3-opus-20240229",
            "anthropic/claude-3-sonnet": "claude-3-sonnet-20240229",
            "anthropic/claude-3-haiku": "claude-3-haiku-20240307",
            "anthropic/claude-3.5-sonnet": "claude-3-5-sonnet-20241022",
            "anthropic/claude-3.5-haiku": "claude-3-5-haiku-20241022",
            "anthropic/claude-3.7-sonnet": "claude-3-7-sonnet-20250219",
            "anthropic/claude-sonnet-4": "claude-sonnet-4-20250514",
            "anthropic/claude-opus-4": "claude-opus-4-20250514",
        },
    )

    def auth_headers(self, api_key: Secret) -> dict[str, str]:
        return {"x-api-key": api_key.reveal(), "anthropic-version": API_VERSION}

    def models_request(self, base_url: str, api_key: Secret) -> UpstreamRequest:
        return UpstreamRequest("GET", f"{base_url}/v1/models", self.auth_headers(api_key))

    def key_check_outcome(self, status: int, body: bytes) -> KeyCheckOutcome:
        return generic_outcome(status)
