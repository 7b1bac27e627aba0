"""The OpenAI-compatible adapter: a provider whose API takes OpenAI chat-completions bodies as they are.

Requests go upstream untouched but for ``model``; answers and streams come back byte for byte (the stream
relayed by ``openai_stream.SSERelay``, which still checks every event). A provider of this kind is a
subclass that sets the class attributes (see ``mistral.py``: its name, base URL, key prefixes, models and
capabilities); it overrides a method only where its API differs from OpenAI's (e.g. ``azure.py``).
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from byokgate.domain.responses_format import canonical_usage
from byokgate.domain.secret import Secret
from byokgate.domain.stream import EventStream
from byokgate.domain.upstream import KeyCheckOutcome, NativeCall, UpstreamError, UpstreamRequest
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
from byokgate.providers.openai_responses import RESPONSES, ResponsesRelay
from byokgate.providers.openai_stream import SSERelay


class OpenAICompatible:
    name: str
    title: str
    telemetry_name: str = ""  # its gen_ai.provider.name in OpenTelemetry ("": the registry name)
    default_base_url: str  # ends in the API version where the provider has one (``.../v1``)
    catalog: ModelCatalog
    key_prefixes: tuple[str, ...] = ()
    auth: Auth = Auth()
    key_fields: tuple[KeyField, ...] = ()
    accepts_byok: bool = True
    pools: bool = False
    capabilities: Capabilities = Capabilities(tools=True, json_mode=True)
    passed_headers: tuple[str, ...] = ("retry-after", "x-ratelimit-", "x-request-id")
    request_id_headers: tuple[str, ...] = ("x-request-id",)
    native_apis: frozenset[str] = frozenset()
    priced_as: str | None = None

    def headers(self, endpoint: Endpoint, key: Secret) -> dict[str, str]:
        """The headers of a JSON call (the key in the provider's auth header)."""
        return {**self.auth.headers(key), "content-type": "application/json", "accept-encoding": "identity"}

    def target(self, endpoint: Endpoint, path: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Where a call of an API path (``chat/completions``, ``embeddings``) goes, and its body."""
        return f"{endpoint.base_url}/{path}", payload

    def models_request(self, endpoint: Endpoint, key: Secret) -> UpstreamRequest:
        return UpstreamRequest("GET", f"{endpoint.base_url}/models", self.auth.headers(key))

    def key_check_outcome(self, status: int, body: bytes) -> KeyCheckOutcome:
        return generic_outcome(status)

    def chat_request(self, endpoint: Endpoint, key: Secret, payload: dict[str, Any]) -> UpstreamRequest:
        """Pass-through: every field the client sent goes upstream untouched (only ``model`` is set)."""
        url, body = self.target(endpoint, "chat/completions", payload)
        return UpstreamRequest("POST", url, self.headers(endpoint, key), orjson.dumps(body))

    def chat_response(self, body: bytes) -> bytes:
        return body  # already the canonical shape: relayed byte for byte

    def chat_stream(self, model: str, *, include_usage: bool) -> EventStream:
        return SSERelay(strip_usage=not include_usage, usage=self.usage)

    def embeddings_request(self, endpoint: Endpoint, key: Secret, payload: dict[str, Any]) -> UpstreamRequest:
        url, body = self.target(endpoint, "embeddings", payload)
        return UpstreamRequest("POST", url, self.headers(endpoint, key), orjson.dumps(body))

    def embeddings_response(self, body: bytes, payload: dict[str, Any]) -> bytes:
        return body

    # The Responses API, for a provider listing it in ``native_apis``: ``<base URL>/responses``, the client's
    # body untouched but for ``model``.

    def native_request(
        self, api: str, endpoint: Endpoint, key: Secret, body: dict[str, Any], call: NativeCall
    ) -> UpstreamRequest:
        url, payload = self.target(endpoint, RESPONSES, body)
        return UpstreamRequest("POST", url, self.headers(endpoint, key), orjson.dumps(payload))

    def native_stream(self, api: str) -> EventStream:
        return ResponsesRelay()

    def native_usage(self, api: str, answer: dict[str, Any]) -> dict[str, Any]:
        return canonical_usage(answer.get("usage"))

    admin_paths: tuple[str, ...] = ()
    root_paths: re.Pattern[str] | None = None

    def api_usage(self, answer: dict[str, Any]) -> dict[str, Any]:
        """A chat completion's or completion's usage (or a stream chunk's), or a Responses answer's (or its
        ``response.completed`` event's), in canonical terms."""
        response = answer.get("response")
        usage = (response if isinstance(response, dict) else answer).get("usage")
        if not isinstance(usage, dict):
            return {}
        return canonical_usage(usage) if "input_tokens" in usage else self.usage(usage)

    def usage(self, usage: dict[str, Any]) -> dict[str, Any]:
        """A usage object of an answer in canonical terms (as it is, for OpenAI's own format)."""
        return usage

    def parse_error(self, status: int, body: bytes) -> UpstreamError:
        return openai_shaped_error(status, body)


def openai_shaped_error(status: int, body: bytes) -> UpstreamError:
    """Read ``{"error": {message, type, param, code}}``; tolerate missing fields and integer codes, and
    the flat ``{"message", "type", "code"}`` bodies some compatible APIs send."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        parsed = None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, str) and isinstance(parsed, dict):  # {"error": "text", "code": ...}
        error = {"message": error, "code": parsed.get("code")}
    elif error is None and isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
        error = parsed  # {"object": "error", "message": ..., "type": ..., "code": ...}
    elif error is None and isinstance(parsed, dict) and isinstance(parsed.get("detail"), str):
        error = {"message": parsed["detail"]}  # {"detail": "Invalid API Key"} from a web framework
    if not isinstance(error, dict):
        return UpstreamError(status, f"upstream returned HTTP {status}", error_type_for(status))
    message = str(error.get("message") or f"upstream returned HTTP {status}")
    code = error.get("code")
    param = error.get("param")
    kind = error.get("type")
    return UpstreamError(
        status=status,
        message=message,
        type=str(kind) if isinstance(kind, str) and kind else error_type_for(status),
        code=overflow_code(status, message, str(code) if code is not None else None),
        param=str(param) if isinstance(param, str) else None,
    )
