"""Anthropic: key checks, and chat completions translated to and from the Messages API."""

from __future__ import annotations

import re
from typing import Any, ClassVar

import orjson

from byokgate.domain.secret import Secret
from byokgate.domain.upstream import KeyCheckOutcome, UpstreamError, UpstreamRequest
from byokgate.providers.anthropic_chat import API_VERSION, to_chat_completion, to_messages_request
from byokgate.providers.anthropic_stream import AnthropicChatStream, AnthropicRelay
from byokgate.providers.base import ModelCatalog, error_type_for, generic_outcome
from byokgate.providers.translation import ChatStream, TranslationError, UpstreamFormatError

# Anthropic error types -> (status for an OpenAI-format client, OpenAI error code).
_ERRORS = {
    "authentication_error": (401, "invalid_api_key"),
    "permission_error": (403, "permission_denied"),
    "not_found_error": (404, "model_not_found"),
    "rate_limit_error": (429, "rate_limit_exceeded"),
    "billing_error": (402, "insufficient_quota"),
    "request_too_large": (413, "request_too_large"),
    "overloaded_error": (503, "overloaded"),
    "timeout_error": (504, "upstream_timeout"),
}


class AnthropicProvider:
    name: ClassVar[str] = "anthropic"
    title: ClassVar[str] = "Anthropic"
    key_prefixes: ClassVar[tuple[str, ...]] = ("sk-ant-api03-", "sk-ant-admin01-", "sk-ant-")
    accepts_byok: ClassVar[bool] = True
    speaks_openai: ClassVar[bool] = False
    serves_chat: ClassVar[bool] = True
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
        native_aliases={
            "claude-3-opus": "claude-3-opus-20240229",
            "claude-3-sonnet": "claude-3-sonnet-20240229",
            "claude-3-haiku": "claude-3-haiku-20240307",
            "claude-3-5-sonnet": "claude-3-5-sonnet-20241022",
            "claude-3-5-haiku": "claude-3-5-haiku-20241022",
            "claude-3-7-sonnet": "claude-3-7-sonnet-20250219",
            "claude-sonnet-4": "claude-sonnet-4-20250514",
            "claude-opus-4": "claude-opus-4-20250514",
        },
    )

    def auth_headers(self, api_key: Secret) -> dict[str, str]:
        return {"x-api-key": api_key.reveal(), "anthropic-version": API_VERSION}

    def models_request(self, base_url: str, api_key: Secret) -> UpstreamRequest:
        return UpstreamRequest("GET", f"{base_url}/v1/models", self.auth_headers(api_key))

    def key_check_outcome(self, status: int, body: bytes) -> KeyCheckOutcome:
        return generic_outcome(status)

    def chat_request(self, base_url: str, api_key: Secret, payload: dict[str, Any]) -> UpstreamRequest:
        headers = {**self.auth_headers(api_key), "content-type": "application/json"}
        body = orjson.dumps(to_messages_request(payload))
        return UpstreamRequest("POST", f"{base_url}/v1/messages", headers, body)

    def messages_request(
        self, base_url: str, api_key: Secret, body: dict[str, Any], client_headers: dict[str, str], path: str
    ) -> UpstreamRequest:
        """A native ``/v1/messages`` (or ``count_tokens``) call: the client's body and version go through."""
        headers = {
            "x-api-key": api_key.reveal(),
            "anthropic-version": client_headers.get("anthropic-version") or API_VERSION,
            "content-type": "application/json",
        }
        if client_headers.get("anthropic-beta"):
            headers["anthropic-beta"] = client_headers["anthropic-beta"]
        return UpstreamRequest("POST", f"{base_url}{path}", headers, orjson.dumps(body))

    def messages_stream(self) -> ChatStream:
        return AnthropicRelay()

    def chat_response(self, body: bytes) -> bytes:
        try:
            message = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise UpstreamFormatError("Anthropic sent an answer that is not JSON") from None
        if not isinstance(message, dict) or message.get("type") != "message":
            raise UpstreamFormatError("Anthropic sent an answer that is not a message")
        return orjson.dumps(to_chat_completion(message))

    def chat_stream(self, model: str, *, include_usage: bool) -> ChatStream:
        return AnthropicChatStream(model, include_usage=include_usage)

    def embeddings_request(self, base_url: str, api_key: Secret, payload: dict[str, Any]) -> UpstreamRequest:
        raise TranslationError(
            "Anthropic has no embeddings models", param="model", code="model_not_supported"
        )

    def embeddings_response(self, body: bytes, payload: dict[str, Any]) -> bytes:
        raise TranslationError(
            "Anthropic has no embeddings models", param="model", code="model_not_supported"
        )

    def parse_error(self, status: int, body: bytes) -> UpstreamError:
        """``{"type": "error", "error": {"type", "message"}}`` in OpenAI's terms (529 overloaded -> 503)."""
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            parsed = None
        error = parsed.get("error") if isinstance(parsed, dict) else None
        if not isinstance(error, dict):
            return UpstreamError(status, f"Anthropic returned HTTP {status}", error_type_for(status))
        kind = str(error.get("type") or "")
        mapped_status, code = _ERRORS.get(kind, (status, kind or None))
        if status == 529:
            mapped_status = 503
        message = str(error.get("message") or f"Anthropic returned HTTP {status}")
        openai_type = "server_error" if mapped_status >= 500 else error_type_for(mapped_status)
        return UpstreamError(mapped_status, message, openai_type, code=code)
