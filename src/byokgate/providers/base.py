"""The provider contract and the shared OpenAI-style base."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import orjson

from byokgate.domain.secret import Secret
from byokgate.domain.upstream import KeyCheckOutcome, UpstreamError, UpstreamRequest
from byokgate.providers.openai_stream import SSERelay
from byokgate.providers.translation import ChatStream, TranslationError


@dataclass(frozen=True, slots=True)
class ModelCatalog:
    """Model-name knowledge of one provider, as data (routing reads it; it never names a provider).

    ``models``: known native ids; ``pattern``: native ids not listed yet (new releases); ``vendors``: the
    OpenRouter ``vendor/`` prefixes this provider can serve directly with the rest of the name as the
    native id; ``aliases``: OpenRouter names whose native id differs (``anthropic/claude-3-opus`` ->
    ``claude-3-opus-20240229``); ``native_aliases``: undated native names the provider itself does not
    take (``claude-3-opus`` -> ``claude-3-opus-20240229``).
    """

    models: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None
    vendors: tuple[str, ...] = ()
    aliases: Mapping[str, str] = field(default_factory=dict)
    embedding_models: tuple[str, ...] = ()
    native_aliases: Mapping[str, str] = field(default_factory=dict)  # short native names -> dated ids

    def serves(self, model: str) -> bool:
        return model in self.models or (self.pattern is not None and self.pattern.match(model) is not None)


class ProviderAdapter(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def key_prefixes(self) -> tuple[str, ...]:
        """Known key prefixes, most specific first (for masking and wrong-slot detection)."""
        ...

    @property
    def accepts_byok(self) -> bool:
        """Whether a project may store its own key for this provider."""
        ...

    @property
    def catalog(self) -> ModelCatalog:
        """Which model names this provider serves natively, and its OpenRouter-format aliases."""
        ...

    @property
    def speaks_openai(self) -> bool:
        """True when the provider takes OpenAI chat-completions bodies as they are (near pass-through)."""
        ...

    @property
    def serves_chat(self) -> bool:
        """Whether this gateway version can send chat completions to the provider."""
        ...

    def models_request(self, base_url: str, api_key: Secret) -> UpstreamRequest: ...

    def key_check_outcome(self, status: int, body: bytes) -> KeyCheckOutcome: ...

    def chat_request(self, base_url: str, api_key: Secret, payload: dict[str, Any]) -> UpstreamRequest:
        """The upstream request for an OpenAI chat-completions ``payload`` (``model`` already native).

        Raises ``TranslationError`` when the request cannot be expressed for this provider."""
        ...

    def chat_response(self, body: bytes) -> bytes:
        """A successful upstream answer as an OpenAI ``chat.completion`` body."""
        ...

    def chat_stream(self, model: str, *, include_usage: bool) -> ChatStream:
        """A fresh translator of this provider's stream into OpenAI chunk events."""
        ...

    def embeddings_request(
        self, base_url: str, api_key: Secret, payload: dict[str, Any]
    ) -> UpstreamRequest: ...

    def embeddings_response(self, body: bytes, payload: dict[str, Any]) -> bytes:
        """A successful embeddings answer as an OpenAI ``list`` of embeddings."""
        ...

    def parse_error(self, status: int, body: bytes) -> UpstreamError: ...


@runtime_checkable
class NativeMessages(Protocol):
    """A provider that serves Anthropic Messages itself: ``/v1/messages`` passes through untranslated."""

    def messages_request(
        self, base_url: str, api_key: Secret, body: dict[str, Any], client_headers: dict[str, str], path: str
    ) -> UpstreamRequest: ...

    def messages_stream(self) -> ChatStream: ...


def generic_outcome(status: int) -> KeyCheckOutcome:
    if 200 <= status < 300:
        return KeyCheckOutcome.VALID
    if status in (401, 403):
        return KeyCheckOutcome.INVALID
    if status == 429:
        return KeyCheckOutcome.RATE_LIMITED
    return KeyCheckOutcome.UPSTREAM_ERROR


class OpenAIStyleProvider:
    """Bearer-token providers whose base URL already ends in the API version (``.../v1``)."""

    name: ClassVar[str]
    title: ClassVar[str]
    key_prefixes: ClassVar[tuple[str, ...]]
    accepts_byok: ClassVar[bool] = True
    catalog: ClassVar[ModelCatalog]

    def auth_headers(self, api_key: Secret) -> dict[str, str]:
        return {"authorization": f"Bearer {api_key.reveal()}"}

    speaks_openai: ClassVar[bool] = True
    serves_chat: ClassVar[bool] = True

    def models_request(self, base_url: str, api_key: Secret) -> UpstreamRequest:
        return UpstreamRequest("GET", f"{base_url}/models", self.auth_headers(api_key))

    def key_check_outcome(self, status: int, body: bytes) -> KeyCheckOutcome:
        return generic_outcome(status)

    def _json_headers(self, api_key: Secret) -> dict[str, str]:
        return {
            **self.auth_headers(api_key),
            "content-type": "application/json",
            "accept-encoding": "identity",
        }

    def chat_request(self, base_url: str, api_key: Secret, payload: dict[str, Any]) -> UpstreamRequest:
        """Pass-through: every field the client sent goes upstream untouched (only ``model`` is set)."""
        return UpstreamRequest(
            "POST", f"{base_url}/chat/completions", self._json_headers(api_key), orjson.dumps(payload)
        )

    def chat_response(self, body: bytes) -> bytes:
        return body  # already OpenAI's shape: relayed byte for byte

    def chat_stream(self, model: str, *, include_usage: bool) -> ChatStream:
        return SSERelay(strip_usage=not include_usage)

    def embeddings_response(self, body: bytes, payload: dict[str, Any]) -> bytes:
        return body

    def embeddings_request(self, base_url: str, api_key: Secret, payload: dict[str, Any]) -> UpstreamRequest:
        return UpstreamRequest(
            "POST", f"{base_url}/embeddings", self._json_headers(api_key), orjson.dumps(payload)
        )

    def parse_error(self, status: int, body: bytes) -> UpstreamError:
        return openai_shaped_error(status, body)


_TYPES_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def error_type_for(status: int) -> str:
    return _TYPES_BY_STATUS.get(status, "api_error" if status >= 500 else "invalid_request_error")


def openai_shaped_error(status: int, body: bytes) -> UpstreamError:
    """Read ``{"error": {message, type, param, code}}``; tolerate missing fields and integer codes."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        parsed = None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if not isinstance(error, dict):
        return UpstreamError(status, f"upstream returned HTTP {status}", error_type_for(status))
    message = error.get("message")
    code = error.get("code")
    param = error.get("param")
    kind = error.get("type")
    return UpstreamError(
        status=status,
        message=str(message) if message else f"upstream returned HTTP {status}",
        type=str(kind) if isinstance(kind, str) and kind else error_type_for(status),
        code=str(code) if code is not None else None,
        param=str(param) if isinstance(param, str) else None,
    )


class NotTranslatedYet:
    """Base of providers whose own wire format byokgate does not translate yet (key checks only)."""

    speaks_openai: ClassVar[bool] = False
    serves_chat: ClassVar[bool] = False

    def chat_request(self, base_url: str, api_key: Secret, payload: dict[str, Any]) -> UpstreamRequest:
        raise TranslationError(
            "chat completions for this provider are not served by this gateway version yet"
        )

    def chat_response(self, body: bytes) -> bytes:
        raise TranslationError(
            "chat completions for this provider are not served by this gateway version yet"
        )

    def chat_stream(self, model: str, *, include_usage: bool) -> ChatStream:
        raise TranslationError(
            "chat completions for this provider are not served by this gateway version yet"
        )

    def embeddings_request(self, base_url: str, api_key: Secret, payload: dict[str, Any]) -> UpstreamRequest:
        raise TranslationError("embeddings for this provider are not served by this gateway version yet")

    def embeddings_response(self, body: bytes, payload: dict[str, Any]) -> bytes:
        raise TranslationError("embeddings for this provider are not served by this gateway version yet")

    def parse_error(self, status: int, body: bytes) -> UpstreamError:
        return openai_shaped_error(status, body)
