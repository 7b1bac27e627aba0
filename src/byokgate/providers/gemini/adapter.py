"""Google Gemini (Developer API): key checks, chat completions and embeddings translated both ways."""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from collections.abc import Iterator, MutableMapping
from typing import Any, ClassVar

import orjson

from byokgate.domain.secret import Secret
from byokgate.domain.stream import EventStream, UpstreamFormatError
from byokgate.domain.upstream import KeyCheckOutcome, UpstreamError, UpstreamRequest
from byokgate.providers.base import (
    Auth,
    Capabilities,
    Endpoint,
    KeyField,
    ModelCatalog,
    generic_outcome,
    overflow_code,
)
from byokgate.providers.gemini.chat import canonical_usage, to_chat_completion, to_generate_request
from byokgate.providers.gemini.embeddings import to_batch_request, to_embeddings_list
from byokgate.providers.gemini.stream import GeminiChatStream

# google.rpc status -> (status for an OpenAI-format client, OpenAI error type, code).
_STATUSES = {
    "INVALID_ARGUMENT": (400, "invalid_request_error", "invalid_request"),
    "FAILED_PRECONDITION": (400, "invalid_request_error", "failed_precondition"),
    "UNAUTHENTICATED": (401, "authentication_error", "invalid_api_key"),
    "PERMISSION_DENIED": (403, "permission_error", "permission_denied"),
    "NOT_FOUND": (404, "invalid_request_error", "model_not_found"),
    "RESOURCE_EXHAUSTED": (429, "rate_limit_error", "rate_limit_exceeded"),
    "INTERNAL": (500, "server_error", "internal_error"),
    "UNAVAILABLE": (503, "server_error", "overloaded"),
    "DEADLINE_EXCEEDED": (504, "server_error", "upstream_timeout"),
}
_RETRY_DELAY = re.compile(r"^(\d+(?:\.\d+)?)s$")


class SignatureMemory(MutableMapping[str, str]):
    """Thought signatures by gateway tool-call id, newest kept (bounded), for replaying Gemini tool loops.

    In-process: a follow-up request must reach the instance that served the call (or the signature is
    missing and Gemini 3 answers 400). Sharing it across instances (Redis) is future work.
    """

    def __init__(self, limit: int = 100_000) -> None:
        self._entries: OrderedDict[str, str] = OrderedDict()
        self._limit = limit

    def __getitem__(self, key: str) -> str:
        return self._entries[key]

    def __setitem__(self, key: str, value: str) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self._limit:
            self._entries.popitem(last=False)

    def __delitem__(self, key: str) -> None:
        del self._entries[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


class GeminiProvider:
    name: ClassVar[str] = "gemini"
    title: ClassVar[str] = "Google Gemini"
    telemetry_name: ClassVar[str] = "gcp.gemini"  # its gen_ai.provider.name in OpenTelemetry
    default_base_url: ClassVar[str] = "https://generativelanguage.googleapis.com"
    auth: ClassVar[Auth] = Auth("x-goog-api-key", "")
    key_prefixes: ClassVar[tuple[str, ...]] = ("AIza", "AQ.")
    key_fields: ClassVar[tuple[KeyField, ...]] = ()
    accepts_byok: ClassVar[bool] = True
    pools: ClassVar[bool] = False
    capabilities: ClassVar[Capabilities] = Capabilities(embeddings=True, vision=True, json_mode=True)
    passed_headers: ClassVar[tuple[str, ...]] = ("retry-after", "x-request-id")
    request_id_headers: ClassVar[tuple[str, ...]] = ("x-request-id",)
    priced_as: ClassVar[str | None] = None
    native_apis: ClassVar[frozenset[str]] = frozenset()
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
        current=("gemini-2.5-pro", "gemini-2.5-flash"),
    )

    def models_request(self, endpoint: Endpoint, key: Secret) -> UpstreamRequest:
        url = f"{endpoint.base_url}/v1beta/models?pageSize=1"
        return UpstreamRequest("GET", url, self.auth.headers(key))

    def __init__(self) -> None:
        self.signatures = SignatureMemory()

    def key_check_outcome(self, status: int, body: bytes) -> KeyCheckOutcome:
        # Gemini answers a bad key with 400 INVALID_ARGUMENT / API_KEY_INVALID, not 401.
        if status == 400 and _error_reason(body) == "API_KEY_INVALID":
            return KeyCheckOutcome.INVALID
        return generic_outcome(status)

    def _headers(self, key: Secret) -> dict[str, str]:
        return {**self.auth.headers(key), "content-type": "application/json"}

    def chat_request(self, endpoint: Endpoint, key: Secret, payload: dict[str, Any]) -> UpstreamRequest:
        body = orjson.dumps(to_generate_request(payload, self.signatures))
        model = payload["model"]
        method = "streamGenerateContent?alt=sse" if payload.get("stream") is True else "generateContent"
        url = f"{endpoint.base_url}/v1beta/models/{model}:{method}"
        return UpstreamRequest("POST", url, self._headers(key), body)

    def chat_response(self, body: bytes) -> bytes:
        response = _json_object(body)
        return orjson.dumps(to_chat_completion(response, "", self.signatures))

    def chat_stream(self, model: str, *, include_usage: bool) -> EventStream:
        return GeminiChatStream(model, include_usage=include_usage, remember=self.signatures)

    def embeddings_request(self, endpoint: Endpoint, key: Secret, payload: dict[str, Any]) -> UpstreamRequest:
        body = orjson.dumps(to_batch_request(payload))
        url = f"{endpoint.base_url}/v1beta/models/{payload['model']}:batchEmbedContents"
        return UpstreamRequest("POST", url, self._headers(key), body)

    def embeddings_response(self, body: bytes, payload: dict[str, Any]) -> bytes:
        return orjson.dumps(to_embeddings_list(_json_object(body), payload))

    def usage(self, usage: dict[str, Any]) -> dict[str, Any]:
        return usage  # ``chat_response`` and ``embeddings_response`` give canonical usage already

    admin_paths: ClassVar[tuple[str, ...]] = ()
    # google-genai pointed at the gateway itself: its v1beta API, and v1's /models/{model}:{method}
    root_paths: ClassVar[re.Pattern[str] | None] = re.compile(r"/v1beta/.+|/v1/models/[^/]+:[A-Za-z]+")

    def api_usage(self, answer: dict[str, Any]) -> dict[str, Any]:
        """``usageMetadata`` of a ``generateContent`` answer or stream chunk (cumulative: the last counts)."""
        metadata = answer.get("usageMetadata")
        return canonical_usage(metadata) if isinstance(metadata, dict) else {}

    def parse_error(self, status: int, body: bytes) -> UpstreamError:
        """A ``google.rpc.Status`` body in OpenAI's terms; a bad key (400 API_KEY_INVALID) is a 401."""
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list) and parsed:  # non-SSE streaming wraps errors in an array
            parsed = parsed[0]
        error = parsed.get("error") if isinstance(parsed, dict) else None
        if not isinstance(error, dict):
            return UpstreamError(
                status,
                f"Gemini returned HTTP {status}",
                "api_error" if status >= 500 else "invalid_request_error",
            )
        message = str(error.get("message") or f"Gemini returned HTTP {status}")
        if _error_reason(body) == "API_KEY_INVALID":
            return UpstreamError(401, message, "authentication_error", code="invalid_api_key")
        mapped_status, kind, code = _STATUSES.get(str(error.get("status")), (status, "api_error", None))
        code = overflow_code(mapped_status, message, code)
        return UpstreamError(mapped_status, message, kind, code=code, retry_after_s=_retry_after(error))


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise UpstreamFormatError("Gemini sent an answer that is not JSON") from None
    if not isinstance(parsed, dict):
        raise UpstreamFormatError("Gemini sent an answer that is not a JSON object")
    return parsed


def _retry_after(error: dict[str, Any]) -> int | None:
    """Seconds from a ``google.rpc.RetryInfo`` detail (``"33s"``), Gemini's only retry hint."""
    for detail in error.get("details") or ():
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("RetryInfo"):
            match = _RETRY_DELAY.match(str(detail.get("retryDelay", "")))
            if match:
                return math.ceil(float(match[1]))
    return None


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
