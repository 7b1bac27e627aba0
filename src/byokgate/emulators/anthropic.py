"""Anthropic (`https://api.anthropic.com`, Messages API): a faithful, deterministic emulator.

Serve it at a root URL (its `base_path` is empty: the `anthropic` SDK's base URL is the root and paths are
`/v1/...`). Endpoints: `POST /v1/messages` (JSON or SSE), `POST /v1/messages/count_tokens`,
`GET /v1/models`, `GET /v1/models/{id}`; the `/_emulator/` control API, `x-emulator-fault` and the request
log work as for the OpenAI-format emulators. Per request: route (404), size (413 over 32 MB), key (401),
`anthropic-version` (400), JSON, faults, validation (`anthropic_validation`), answer (`anthropic_answer`,
`anthropic_usage`, `anthropic_stream`). Faults: as `faults.Fault` says; `context_length` is the real
"prompt is too long" 400 for the model's window, `content_filter` a 200 cut short with `stop_reason:
"refusal"` (as the API refuses), `no_done` a no-op (Anthropic streams have no `[DONE]`).

Choices where the reference is silent or unverified:
- the key comes from `x-api-key` or `Authorization: Bearer`; `x-api-key` wins when both are sent;
  messages: `x-api-key header is required`, `invalid x-api-key`, `Invalid bearer token`;
- the key is checked before `anthropic-version` (`anthropic-version: header is required` when absent);
  only `2023-06-01` and `2026-10-21` are valid versions; `anthropic-beta` enables the body fields of the
  betas it names (`anthropic_options.FIELD_BETAS`: `context_management`, `mcp_servers`), else ignored;
- a request with `context_management` is answered `context_management: {"applied_edits": []}` (in the
  message, or the `message_delta` event of a stream; `count_tokens`: `original_input_tokens`, the count);
- the response `model` is the resolved snapshot id (`claude-sonnet-4-5` -> `claude-sonnet-4-5-20250929`);
- a malformed JSON body is a 400 `invalid_request_error`; an unknown path or method a 404 `Not Found`;
- headers and error bodies: see `anthropic_profile`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs

import orjson

from byokgate.emulators import asgi
from byokgate.emulators.anthropic_answer import REFUSAL_DETAILS, decide, refused
from byokgate.emulators.anthropic_models import model_object, models_page, not_found, resolve
from byokgate.emulators.anthropic_profile import (
    SERVER_ERRORS,
    AnthropicProfile,
    AnthropicRecordedRequest,
    anthropic_error,
)
from byokgate.emulators.anthropic_stream import send_stream, stream_frames
from byokgate.emulators.anthropic_usage import InputUsage, PromptCache, count_input_tokens
from byokgate.emulators.anthropic_validation import (
    VERSIONS,
    Endpoint,
    MessagesRequest,
    allowed_fields,
    validate,
)
from byokgate.emulators.faults import AnswerFaults, Fault, FaultSpecError, parse_fault_header
from byokgate.emulators.openai_compat import FAULT_HEADER, Emulator, apply_request_faults
from byokgate.emulators.profile import ApiError, Headers
from byokgate.emulators.recorder import RecordedRequest

MAX_BODY_BYTES = 32 * 1024 * 1024


class _Call:
    """What the handlers need to know about the request being answered."""

    __slots__ = ("endpoint", "faults", "record", "request_id", "version")

    def __init__(self, record: RecordedRequest, request_id: str) -> None:
        self.record = record
        self.request_id = request_id
        self.endpoint = "other"
        self.version = ""
        self.faults: list[Fault] = []

    def fault(self, kind: str) -> Fault | None:
        return next((fault for fault in self.faults if fault.kind == kind), None)


def _route(method: str, path: str) -> str | None:
    """The endpoint a path names (`chat`, `count_tokens`, `models`), or None (404)."""
    if path == "/v1/messages" and method == "POST":
        return "chat"
    if path == "/v1/messages/count_tokens" and method == "POST":
        return "count_tokens"
    if (path == "/v1/models" or path.startswith("/v1/models/")) and method == "GET":
        return "models"
    return None


class AnthropicEmulator(Emulator):
    """The Anthropic Messages API as an ASGI app; same control surface as `Emulator` (`arm`, `requests`,
    `reset`, ...). `reset()` also forgets the prompt cache. Unknown body fields are always a 400, as in the
    real API (`strict_unknown_fields` has no effect here)."""

    def __init__(self, keys: Iterable[str] = (), *, accept_any_key: bool = False, **options: Any) -> None:
        profile = AnthropicProfile()
        super().__init__(profile, keys=keys, accept_any_key=accept_any_key, **options)
        self.anthropic = profile
        self.prompt_cache = PromptCache()

    def reset(self) -> None:
        super().reset()
        self.prompt_cache.clear()

    async def _handle(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes, send: asgi.Send
    ) -> None:
        record = AnthropicRecordedRequest(method, path, query, headers, None)
        self.recorder.add(record)
        call = _Call(record, self.anthropic.request_id())
        try:
            await self._serve(call, method, path, body, send)
        except ApiError as error:
            record.status = error.status
            error_headers = self.anthropic.error_headers(error, call.request_id)
            await asgi.send_json(
                send, error.status, self.anthropic.error_payload(error, call.request_id), error_headers
            )

    # checks ----------------------------------------------------------------------------------------
    def _authenticate(self, headers: dict[str, str]) -> None:
        api_key = headers.get("x-api-key", "").strip()
        bearer = headers.get("authorization", "")
        token = bearer[7:].strip() if bearer[:7].lower() == "bearer " else ""
        key = api_key or token
        if not key:
            raise anthropic_error(401, "x-api-key header is required")
        if not self.accept_any_key and key not in self.keys:
            raise anthropic_error(401, "invalid x-api-key" if api_key else "Invalid bearer token")

    def _version(self, headers: dict[str, str]) -> str:
        version = headers.get("anthropic-version", "").strip()
        if not version:
            raise anthropic_error(400, "anthropic-version: header is required")
        if version not in VERSIONS:
            supported = ", ".join(VERSIONS)
            raise anthropic_error(
                400, f"anthropic-version: invalid version '{version}' (supported: {supported})"
            )
        return version

    async def _take_faults(self, call: _Call, model: str | None) -> None:
        faults = self.faults.take(call.endpoint, model)
        header = call.record.headers.get(FAULT_HEADER)
        if header:
            try:
                faults = faults + parse_fault_header(header)
            except FaultSpecError as exc:
                raise anthropic_error(400, f"bad {FAULT_HEADER} header: {exc}") from exc
        call.faults = faults
        await apply_request_faults(
            faults,
            lambda fault: (
                self.anthropic.fault_error(fault, model) if fault.is_error or fault.kind == "529" else None
            ),
        )

    # dispatch --------------------------------------------------------------------------------------
    async def _serve(self, call: _Call, method: str, path: str, raw: bytes, send: asgi.Send) -> None:
        route = _route(method, path)
        if route is None:
            raise anthropic_error(404, "Not Found")
        call.endpoint = route
        if len(raw) > MAX_BODY_BYTES:
            raise anthropic_error(413, "Request exceeds the maximum allowed number of bytes.")
        malformed = False
        if method == "POST":
            try:
                call.record.body = orjson.loads(raw)
            except orjson.JSONDecodeError:
                malformed = True
        headers = call.record.headers
        self._authenticate(headers)
        call.version = self._version(headers)
        if malformed:
            raise anthropic_error(400, "There was an error parsing the body of your request: invalid JSON.")
        body = call.record.body
        model = body.get("model") if isinstance(body, dict) else None
        await self._take_faults(call, model if isinstance(model, str) else None)
        if route == "models":
            await self._models(call, path, send)
        elif route == "count_tokens":
            request = self._validated(call, "count_tokens")
            counted: dict[str, Any] = {"input_tokens": count_input_tokens(request)}
            if request.context_management is not None:
                counted["context_management"] = {"original_input_tokens": counted["input_tokens"]}
            await self._send_json(call, counted, send)
        else:
            await self._messages(call, self._validated(call, "messages"), send)

    def _validated(self, call: _Call, endpoint: Endpoint) -> MessagesRequest:
        body = call.record.body
        beta = call.record.headers.get("anthropic-beta") or ""
        betas = [name.strip() for name in beta.split(",") if name.strip()]
        if isinstance(body, dict):
            known = allowed_fields(endpoint, call.version, betas)
            call.record.unknown_fields = tuple(key for key in body if key not in known)
        return validate(body, call.version, endpoint, betas)

    async def _send_json(
        self, call: _Call, body: Any, send: asgi.Send, headers: Headers | None = None
    ) -> None:
        call.record.status = 200
        headers = headers or self.anthropic.base_headers(call.request_id)
        await asgi.send_json(send, 200, body, headers, faults=AnswerFaults.of(call.faults))

    async def _models(self, call: _Call, path: str, send: asgi.Send) -> None:
        if path == "/v1/models":
            await self._send_json(call, models_page(parse_qs(call.record.query)), send)
            return
        model_id = path[len("/v1/models/") :]
        model = resolve(model_id)
        if model is None:
            raise not_found(model_id)
        await self._send_json(call, model_object(model), send)

    async def _messages(self, call: _Call, request: MessagesRequest, send: asgi.Send) -> None:
        total = count_input_tokens(request)
        limit = request.model.max_input_tokens
        if call.fault("context_length"):  # the prompt taken as `limit + total` tokens long
            total += limit
        if total > limit:
            raise anthropic_error(400, f"prompt is too long: {total} tokens > {limit} maximum")
        usage = self.prompt_cache.usage(request)
        answer = decide(request, self.anthropic.tool_call_id)
        refusal = call.fault("content_filter") is not None
        if refusal:
            answer = refused(answer)
        message = {
            "id": self.anthropic.completion_id(),
            "type": "message",
            "role": "assistant",
            "model": request.model.id,
            "content": answer.blocks,
            "stop_reason": answer.stop_reason,
            "stop_sequence": answer.stop_sequence,
            "stop_details": dict(REFUSAL_DETAILS) if refusal else None,
            "usage": _usage(
                usage, answer.output_tokens, answer.thinking_tokens if request.thinking else None
            ),
        }
        if request.context_management is not None:
            message["context_management"] = {"applied_edits": []}
        headers = [
            *self.anthropic.base_headers(call.request_id),
            *self.anthropic.rate_limit_headers(usage.total, answer.output_tokens),
        ]
        if not request.stream:
            await self._send_json(call, message, send, headers)
            return
        call.record.status = 200
        overloaded = self.anthropic.error_payload(anthropic_error(529, SERVER_ERRORS[529]), call.request_id)
        await send_stream(
            send,
            stream_frames(message),
            headers,
            faults=AnswerFaults.of(call.faults),
            error_body=overloaded,
            chunk_delay_s=self.stream_chunk_delay_s,
        )


def _usage(usage: InputUsage, output_tokens: int, thinking_tokens: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "input_tokens": usage.input_tokens,
        "cache_creation_input_tokens": usage.cache_creation_input_tokens,
        "cache_read_input_tokens": usage.cache_read_input_tokens,
        "cache_creation": {
            "ephemeral_5m_input_tokens": usage.ephemeral_5m_input_tokens,
            "ephemeral_1h_input_tokens": usage.ephemeral_1h_input_tokens,
        },
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }
    if thinking_tokens is not None:
        body["output_tokens_details"] = {"thinking_tokens": thinking_tokens}
    return body


def anthropic_emulator(keys: Iterable[str] = (), *, accept_any_key: bool = False, **options: Any) -> Emulator:
    """An Anthropic emulator (serve it at a root URL; the SDK's `base_url` is that root)."""
    return AnthropicEmulator(keys, accept_any_key=accept_any_key, **options)
