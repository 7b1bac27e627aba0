"""Anthropic: chat completions translated to and from the Messages API, which it also serves natively
(``/v1/messages`` and its token counting pass through untranslated)."""

from __future__ import annotations

import re
from typing import Any, ClassVar

import orjson

from byokgate.domain.messages_format import canonical_usage
from byokgate.domain.secret import Secret
from byokgate.domain.stream import EventStream, TranslationError, UpstreamFormatError
from byokgate.domain.upstream import KeyCheckOutcome, NativeCall, UpstreamError, UpstreamRequest
from byokgate.providers.anthropic.chat import API_VERSION, to_chat_completion, to_messages_request
from byokgate.providers.anthropic.stream import AnthropicChatStream, AnthropicRelay
from byokgate.providers.base import (
    Auth,
    Capabilities,
    Endpoint,
    KeyField,
    ModelCatalog,
    error_type_for,
    generic_outcome,
    overflow_code,
)

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
    telemetry_name: ClassVar[str] = ""  # its gen_ai.provider.name: the registry name
    default_base_url: ClassVar[str] = "https://api.anthropic.com"
    auth: ClassVar[Auth] = Auth("x-api-key", "")
    key_prefixes: ClassVar[tuple[str, ...]] = ("sk-ant-api03-", "sk-ant-admin01-", "sk-ant-")
    key_fields: ClassVar[tuple[KeyField, ...]] = ()
    accepts_byok: ClassVar[bool] = True
    pools: ClassVar[bool] = False
    capabilities: ClassVar[Capabilities] = Capabilities(
        vision=True,
        json_mode=True,
        prefill=True,
        # From Claude 4.6 on (claude-opus-4-6, claude-sonnet-5, ...) a final assistant message is refused.
        no_prefill=re.compile(r"^claude-[a-z]+-(?:4-[6-9]|[5-9])(?:-|$)"),
    )
    passed_headers: ClassVar[tuple[str, ...]] = ("retry-after", "anthropic-ratelimit-", "request-id")
    request_id_headers: ClassVar[tuple[str, ...]] = ("request-id",)
    priced_as: ClassVar[str | None] = None
    native_apis: ClassVar[frozenset[str]] = frozenset({"messages"})
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
        current=("claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5"),  # the SDK's ModelParam, 2.17
        successors={  # retired (the SDK's and the API's model-deprecation tables)
            "claude-3-sonnet-20240229": "claude-sonnet-5-5",
            "claude-3-opus-20240229": "claude-opus-5-5",
            "claude-3-haiku-20240307": "claude-haiku-5-5",
            "claude-3-5-sonnet-20240620": "claude-sonnet-5-5",
            "claude-3-5-sonnet-20241022": "claude-sonnet-5-5",
            "claude-3-5-haiku-20241022": "claude-haiku-5-5",
            "claude-3-7-sonnet-20250219": "claude-sonnet-5-5",
            "claude-2.1": "claude-sonnet-5-5",
            "claude-2.0": "claude-sonnet-5-5",
            "claude-instant-1.2": "claude-haiku-5-5",
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

    def _headers(self, key: Secret, version: str = API_VERSION) -> dict[str, str]:
        return {**self.auth.headers(key), "anthropic-version": version}

    def models_request(self, endpoint: Endpoint, key: Secret) -> UpstreamRequest:
        return UpstreamRequest("GET", f"{endpoint.base_url}/v1/models", self._headers(key))

    def key_check_outcome(self, status: int, body: bytes) -> KeyCheckOutcome:
        return generic_outcome(status)

    def chat_request(self, endpoint: Endpoint, key: Secret, payload: dict[str, Any]) -> UpstreamRequest:
        headers = {**self._headers(key), "content-type": "application/json"}
        body = orjson.dumps(to_messages_request(payload))
        return UpstreamRequest("POST", f"{endpoint.base_url}/v1/messages", headers, body)

    def native_request(
        self, api: str, endpoint: Endpoint, key: Secret, body: dict[str, Any], call: NativeCall
    ) -> UpstreamRequest:
        """A native ``/v1/messages`` (or ``count_tokens``) call: the client's body, API version and beta
        flags go through."""
        headers = self._headers(key, call.headers.get("anthropic-version") or API_VERSION)
        headers["content-type"] = "application/json"
        if call.headers.get("anthropic-beta"):
            headers["anthropic-beta"] = call.headers["anthropic-beta"]
        return UpstreamRequest("POST", f"{endpoint.base_url}{call.path}", headers, orjson.dumps(body))

    def native_stream(self, api: str) -> EventStream:
        return AnthropicRelay()

    def native_usage(self, api: str, answer: dict[str, Any]) -> dict[str, Any]:
        usage = answer.get("usage")
        return canonical_usage(usage) if isinstance(usage, dict) else {}

    def usage(self, usage: dict[str, Any]) -> dict[str, Any]:
        return usage  # ``chat_response`` gives canonical usage already

    admin_paths: ClassVar[tuple[str, ...]] = ("/v1/organizations",)  # the Admin API (admin keys)
    root_paths: ClassVar[re.Pattern[str] | None] = None

    def api_usage(self, answer: dict[str, Any]) -> dict[str, Any]:
        """A ``message``'s usage, or a stream event's (``message_start`` carries the input, ``message_delta``
        the output)."""
        message = answer.get("message")
        usage = (message if isinstance(message, dict) else answer).get("usage")
        return canonical_usage(usage) if isinstance(usage, dict) else {}

    def chat_response(self, body: bytes) -> bytes:
        try:
            message = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise UpstreamFormatError("Anthropic sent an answer that is not JSON") from None
        if not isinstance(message, dict) or message.get("type") != "message":
            raise UpstreamFormatError("Anthropic sent an answer that is not a message")
        return orjson.dumps(to_chat_completion(message))

    def chat_stream(self, model: str, *, include_usage: bool) -> EventStream:
        return AnthropicChatStream(model, include_usage=include_usage)

    def embeddings_request(self, endpoint: Endpoint, key: Secret, payload: dict[str, Any]) -> UpstreamRequest:
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
        return UpstreamError(
            mapped_status, message, openai_type, code=overflow_code(mapped_status, message, code)
        )
