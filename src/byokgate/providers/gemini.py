from __future__ import annotations

import re
from typing import ClassVar

import orjson

from byokgate.domain.secret import Secret
from byokgate.domain.upstream import KeyCheckOutcome, UpstreamRequest
from byokgate.providers.base import ModelCatalog, NotTranslatedYet, generic_outcome


class GeminiProvider(NotTranslatedYet):
    name: ClassVar[str] = "gemini"
    title: ClassVar[str] = "Google Gemini"
    key_prefixes: ClassVar[tuple[str, ...]] = ("AIza", "AQ.")
    accepts_byok: ClassVar[bool] = True
    catalog: ClassVar[ModelCatalog] = ModelCatalog(
        models=(
            "gemini-1.5-pro",
            "gemini-1.5-flash",
            "gemini-2.0-flash",
            "gemini-2.5-pro",
            "gemini-2.5-flash",
            "text-embedding-004",
            "gemini-embedding-001",
        ),
        pattern=re.compile(r"^gemini-"),
        vendors=("google",),
        aliases={
            "google/gemini-pro-1.5": "gemini-1.5-pro",
            "google/gemini-flash-1.5": "gemini-1.5-flash",
            "google/gemini-2.0-flash-001": "gemini-2.0-flash",
        },
        embedding_models=("text-embedding-004", "gemini-embedding-001"),
    )

    def auth_headers(self, api_key: Secret) -> dict[str, str]:
        return {"x-goog-api-key": api_key.reveal()}

    def models_request(self, base_url: str, api_key: Secret) -> UpstreamRequest:
        return UpstreamRequest("GET", f"{base_url}/v1beta/models?pageSize=1", self.auth_headers(api_key))

    def key_check_outcome(self, status: int, body: bytes) -> KeyCheckOutcome:
        # Gemini answers a bad key with 400 INVALID_ARGUMENT / API_KEY_INVALID, not 401.
        if status == 400 and _error_reason(body) == "API_KEY_INVALID":
            return KeyCheckOutcome.INVALID
        return generic_outcome(status)


def _error_reason(body: bytes) -> str | None:
    """The machine-readable reason in a Google-style error body, if any."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and isinstance(detail.get("reason"), str):
            return str(detail["reason"])
    return None
