"""The shared engine of the OpenAI-format emulators: a raw ASGI app driven by a `ProviderProfile`.

Per request: record it, route it under the profile's base path, check the bearer key, parse the JSON (or
the multipart form of an upload endpoint), apply faults (armed or from `x-emulator-fault`), validate like
the real API, and answer (JSON, SSE, or chunked binary). Chat, embeddings, models and the Responses API are
answered here; legacy completions, images, audio and moderations by `openai_endpoints`' handlers.
Fault order: delays, then a broken connection (`reset`, `no_response`, carried out by `__call__`), then an
error status; after validation `context_length` / `content_filter` (the profile's errors for the model);
the answer itself is broken as `faults.AnswerFaults` says.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from byokgate.emulators import (
    asgi,
    chat,
    content,
    control,
    multipart,
    openai_endpoints,
    openai_responses_stream,
)
from byokgate.emulators.faults import (
    CONNECTION_KINDS,
    AnswerFaults,
    ConnectionFault,
    Fault,
    FaultBook,
    FaultSpecError,
    parse_fault_header,
)
from byokgate.emulators.openai_responses import ResponsesApi
from byokgate.emulators.profile import ApiError, Exchange, ModelInfo, ProviderProfile, Resolved
from byokgate.emulators.recorder import DEFAULT_CAPACITY, RecordedRequest, Recorder
from byokgate.emulators.validation import CHAT_FIELDS, EMBEDDING_FIELDS, validate_chat, validate_embeddings

FAULT_HEADER = "x-emulator-fault"
MALFORMED_JSON = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
    "HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. "
    "If you have trouble figuring out how to fix this, please contact us through our help center at "
    "help.openai.com.)"
)
MALFORMED_FORM = "Could not parse the multipart form data."  # wording ours (unverified)
SPEECH_PACE_S = 0.002  # the least pause between the chunks of a binary answer (speech), so they arrive apart


async def apply_request_faults(faults: list[Fault], error_for: Callable[[Fault], Exception | None]) -> None:
    """What faults do before a request is answered, in order: the delays (`latency`, `slow_first_byte`),
    then a broken connection (`ConnectionFault`), then the first error (`error_for(fault)`, None for a
    fault that is no error)."""
    delay_ms = sum(fault.delay_ms for fault in faults if fault.kind in ("latency", "slow_first_byte"))
    if delay_ms:
        await asyncio.sleep(delay_ms / 1000)
    for fault in faults:
        if fault.kind in CONNECTION_KINDS:
            raise ConnectionFault(fault)
    for fault in faults:
        error = error_for(fault)
        if error is not None:
            raise error


class _Request:
    """What a handler needs to know about the request being answered."""

    __slots__ = ("body", "endpoint", "faults", "form", "record", "request_id", "resolved", "started")

    def __init__(self, record: RecordedRequest, request_id: str) -> None:
        self.record = record
        self.request_id = request_id
        self.started = time.perf_counter()
        self.body: Any = None
        self.form: multipart.Form | None = None  # the body of a multipart/form-data endpoint
        self.endpoint = "other"
        self.faults: list[Fault] = []
        self.resolved = Resolved("")

    def fault(self, kind: str) -> Fault | None:
        return next((fault for fault in self.faults if fault.kind == kind), None)

    @property
    def elapsed_ms(self) -> int:
        return int((time.perf_counter() - self.started) * 1000)


class Emulator:
    """An emulated provider API as an ASGI app.

    `keys` are the valid bearer keys (`accept_any_key=True` takes any non-empty one). `record=False`
    turns the request recorder off; `strict_unknown_fields=True` answers 400 "Unrecognized request
    argument supplied" for unknown chat fields, as OpenAI itself does (default: accept and record them).
    `stream_chunk_delay_ms` paces streams for demos.
    """

    def __init__(
        self,
        profile: ProviderProfile,
        *,
        keys: Iterable[str] = (),
        accept_any_key: bool = False,
        record: bool = True,
        capacity: int = DEFAULT_CAPACITY,
        strict_unknown_fields: bool = False,
        stream_chunk_delay_ms: int = 0,
    ) -> None:
        self.profile = profile
        self.keys = frozenset(keys)
        self.accept_any_key = accept_any_key
        self.strict_unknown_fields = strict_unknown_fields
        self.stream_chunk_delay_s = stream_chunk_delay_ms / 1000
        self.faults = FaultBook()
        self.recorder = Recorder(capacity, enabled=record)
        self.responses = ResponsesApi(profile) if profile.has_responses else None

    # Python control API ----------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.profile.name

    @property
    def base_path(self) -> str:
        return self.profile.base_path

    def arm(self, *faults: Fault) -> None:
        """Apply these faults to the next matching requests (see `Fault`)."""
        self.faults.arm(*faults)

    def clear_faults(self) -> None:
        self.faults.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        """The recorded requests, oldest first."""
        return self.recorder.snapshot()

    def clear_requests(self) -> None:
        self.recorder.clear()

    def reset(self) -> None:
        self.clear_faults()
        self.clear_requests()

    # ASGI ------------------------------------------------------------------------------------------
    async def __call__(self, scope: asgi.Scope, receive: asgi.Receive, send: asgi.Send) -> None:
        if scope["type"] == "lifespan":
            await asgi.lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        method: str = scope["method"]
        query = scope.get("query_string", b"").decode("latin-1")
        body = await asgi.read_body(receive)
        if path.startswith(control.PREFIX):
            await control.handle(self, method, path, query, body, send)
            return
        if method == "GET" and path.startswith(openai_endpoints.FILES_PREFIX) and self.profile.has_images:
            await openai_endpoints.serve_file(path, send)
            return
        token = asgi.bind_receive(receive)
        try:
            await self._handle(method, path, query, asgi.header_map(scope), body, send)
        except ConnectionFault as broken:
            if broken.fault.kind == "reset":
                await asgi.reset_connection(send)
            else:
                await asgi.hold_connection(send, broken.fault.delay_s)
        finally:
            asgi.unbind_receive(token)

    async def _handle(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes, send: asgi.Send
    ) -> None:
        """One API request (control-API calls and lifespan are already dealt with): record and answer it."""
        record = RecordedRequest(method, path, query, headers, None)
        self.recorder.add(record)
        request = _Request(record, self.profile.request_id())
        try:
            await self._answer(request, method, path, body, send)
        except ApiError as error:
            await self._send_error(request, error, send)

    async def _send_error(self, request: _Request, error: ApiError, send: asgi.Send) -> None:
        status, payload, content_type = self.profile.error_response(error)
        request.record.status = status
        headers = self.profile.error_headers(error, request.request_id)
        await asgi.send_bytes(send, status, payload, content_type.encode("latin-1"), headers)

    def _check_key(self, headers: dict[str, str], resolved: Resolved) -> None:
        key = self.profile.api_key(headers, resolved)
        if not key:
            raise self.profile.auth_error(None)
        if not self.accept_any_key and key not in self.keys:
            raise self.profile.auth_error(key)

    async def _answer(self, request: _Request, method: str, path: str, raw: bytes, send: asgi.Send) -> None:
        query = dict(part.partition("=")[::2] for part in request.record.query.split("&") if part)
        resolved = self.profile.resolve(method, path, query)
        relative = resolved.relative if resolved else None
        route = self._route(method, relative)
        if route is None or resolved is None:
            raise ApiError(404, f"Invalid URL ({method} {path})")
        request.endpoint = route
        request.resolved = resolved
        extra = openai_endpoints.route(self.profile, relative or "") if method == "POST" else None
        malformed = self._read_body(request, raw, extra) if method == "POST" else None
        if not (route == "models" and relative == "/models" and self.profile.models_public):
            self._check_key(request.record.headers, resolved)
        if malformed is not None:
            raise malformed
        model = request.body.get("model") if isinstance(request.body, dict) else None
        if request.form is not None:
            model = request.form.value("model")
        model = resolved.model or model
        await self._apply_faults(request, model if isinstance(model, str) else None)
        if extra is not None:
            await self._extra(request, extra, relative or "", send)
        elif route == "chat":
            await self._chat(request, send)
        elif route == "embeddings":
            await self._embeddings(request, send)
        elif route == "responses":
            await self._responses(request, method, relative or "", send)
        else:
            await self._get(request, route, relative or "", send)

    def _read_body(
        self, request: _Request, raw: bytes, extra: openai_endpoints.Route | None
    ) -> ApiError | None:
        """Parse a POST body (JSON, or the form of a multipart endpoint) into `request` and its record;
        the error to answer once the key is checked, if it cannot be read."""
        if extra is not None and extra.multipart:
            content_type = request.record.headers.get("content-type")
            if not multipart.is_multipart(content_type):
                return openai_endpoints.not_multipart(content_type)
            try:
                request.form = multipart.parse(raw, content_type)
            except multipart.MultipartError:
                return ApiError(400, MALFORMED_FORM)
            request.body = {}
            request.record.body = request.form.record()
            return None
        try:
            request.body = orjson.loads(raw) if raw.strip() else {}
        except orjson.JSONDecodeError:
            return ApiError(400, MALFORMED_JSON)
        request.record.body = request.body
        return None

    def _route(self, method: str, relative: str | None) -> str | None:
        if relative is None:
            return None
        extra = openai_endpoints.route(self.profile, relative)
        if extra is not None:
            return extra.endpoint if method == "POST" else None
        if relative == "/chat/completions":
            return "chat" if method == "POST" else None
        if relative == "/embeddings" and self.profile.has_embeddings:
            return "embeddings" if method == "POST" else None
        if (relative == "/models" and self.profile.has_models_list) or (
            relative.startswith("/models/") and self.profile.has_model_retrieve
        ):
            return "models" if method == "GET" else None
        if self.responses is not None and relative.split("/")[1] == "responses":
            return "responses" if self.responses.serves(method, relative) else None
        if relative in self.profile.extra_routes():
            return "extra" if method == "GET" else None
        return None

    async def _apply_faults(self, request: _Request, model: str | None) -> None:
        faults = self.faults.take(request.endpoint, model)
        header = request.record.headers.get(FAULT_HEADER)
        if header:
            try:
                faults = faults + parse_fault_header(header)
            except FaultSpecError as exc:
                raise ApiError(400, f"bad {FAULT_HEADER} header: {exc}", param=FAULT_HEADER) from exc
        request.faults = faults
        await apply_request_faults(
            faults, lambda fault: self.profile.fault_error(fault, model) if fault.is_error else None
        )

    def _success_headers(
        self, request: _Request, generation_id: str | None, tokens: int
    ) -> list[tuple[str, str]]:
        return self.profile.response_headers(
            request.request_id,
            endpoint=request.endpoint,
            generation_id=generation_id,
            tokens=tokens,
            elapsed_ms=request.elapsed_ms,
        )

    def _answer_faults(self, request: _Request) -> AnswerFaults:
        return AnswerFaults.of(request.faults)

    def _model(self, model_id: str, kind: str) -> ModelInfo:
        model = self.profile.model(model_id)
        if model is None:
            raise self.profile.model_not_found(model_id)
        if model.kind != kind:
            raise self.profile.wrong_kind(model_id, kind)
        return model

    async def _chat(self, request: _Request, send: asgi.Send) -> None:
        body = request.body
        if not isinstance(body, dict):
            raise ApiError(400, MALFORMED_JSON)
        unknown = tuple(
            key for key in body if key not in CHAT_FIELDS and key not in self.profile.extra_chat_fields
        )
        request.record.unknown_fields = unknown
        self.profile.check_chat(body)
        if unknown and self.strict_unknown_fields:
            raise ApiError(400, f"Unrecognized request argument supplied: {unknown[0]}")
        view = dict(self.profile.chat_view(body))
        if request.resolved.model:
            view["model"] = request.resolved.model
        options = validate_chat(view, self.profile.default_model)
        model = self._model(options.model, "chat")
        answer = chat.answer(options, self.profile)
        if request.fault("context_length"):
            raise self.profile.context_length_error(model, answer.prompt_tokens, options.max_tokens)
        if request.fault("content_filter"):
            raise self.profile.content_filter_error(model, body)
        exchange = Exchange(
            profile=self.profile,
            model=model,
            answer=answer,
            request_id=request.request_id,
            completion_id=self.profile.completion_id(),
            include_usage=options.include_usage,
            obfuscate=self.profile.obfuscation and options.include_obfuscation,
            body=body,
        )
        tokens = exchange.answer.prompt_tokens + exchange.answer.completion_tokens
        headers = self._success_headers(request, exchange.completion_id, tokens)
        request.record.status = 200
        if not options.stream:
            await asgi.send_json(
                send, 200, self.profile.completion(exchange), headers, faults=self._answer_faults(request)
            )
            return
        await asgi.send_sse(
            send,
            self.profile.stream_chunks(exchange),
            headers,
            preamble=self.profile.stream_comment,
            faults=self._answer_faults(request),
            opening=chat.is_opening,
            chunk_delay_s=self.stream_chunk_delay_s,
            done=self.profile.stream_done,
        )

    async def _embeddings(self, request: _Request, send: asgi.Send) -> None:
        body = request.body
        if not isinstance(body, dict):
            raise ApiError(400, MALFORMED_JSON)
        request.record.unknown_fields = tuple(key for key in body if key not in EMBEDDING_FIELDS)
        self.profile.check_embeddings(body)
        if request.resolved.model:
            body = {**body, "model": request.resolved.model}
        model_id, inputs, encoding, dimensions = validate_embeddings(body)
        model = self._model(model_id, "embedding")
        if dimensions is not None and not model.resizable:
            raise ApiError(400, "This model does not support specifying dimensions.")
        if dimensions is not None and dimensions > model.dimensions:
            text = (
                "Invalid 'dimensions': integer above maximum value. "
                f"Expected a value <= {model.dimensions}, but got {dimensions} instead."
            )
            raise ApiError(400, text, param="dimensions", code="integer_above_max_value")
        size = dimensions or model.dimensions
        data: list[dict[str, Any]] = []
        tokens = 0
        for index, item in enumerate(inputs):
            vector = content.embed(item, size)
            tokens += content.count_tokens(item) if isinstance(item, str) else len(item)
            encoded: Any = content.encode_base64(vector) if encoding == "base64" else vector
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        request.record.status = 200
        headers = self._success_headers(request, None, tokens)
        await asgi.send_json(
            send,
            200,
            self.profile.embeddings(model, data, tokens),
            headers,
            faults=self._answer_faults(request),
        )

    async def _responses(self, request: _Request, method: str, relative: str, send: asgi.Send) -> None:
        """The Responses API (`openai_responses`); its stored responses are per API key."""
        assert self.responses is not None
        if method == "POST" and not isinstance(request.body, dict):
            raise ApiError(400, MALFORMED_JSON)
        key = request.record.api_key or ""
        reply = self.responses.handle(
            method, relative, request.body, request.record.query, key, request.fault
        )
        request.record.status = 200
        headers = self._success_headers(request, reply.response_id, reply.tokens)
        if reply.events is None:
            await asgi.send_json(send, 200, reply.body, headers, faults=self._answer_faults(request))
            return
        await asgi.send_sse(
            send,
            reply.events,
            headers,
            faults=self._answer_faults(request),
            opening=openai_responses_stream.is_opening,
            chunk_delay_s=self.stream_chunk_delay_s,
            done=False,
            named=True,
        )

    async def _extra(
        self, request: _Request, extra: openai_endpoints.Route, relative: str, send: asgi.Send
    ) -> None:
        """Completions, images, audio, moderations (`openai_endpoints`): the route's handler answers."""
        if not extra.multipart and not isinstance(request.body, dict):
            raise ApiError(400, MALFORMED_JSON)
        call = openai_endpoints.Call(
            self.profile,
            relative,
            request.body if isinstance(request.body, dict) else {},
            request.form,
            request.request_id,
            "http://" + request.record.headers.get("host", "localhost"),
            request.fault,
        )
        reply = extra.handler(call)
        request.record.status = 200
        await openai_endpoints.send(
            reply,
            send,
            self._success_headers(request, reply.generation_id, reply.tokens),
            faults=self._answer_faults(request),
            chunk_delay_s=self.stream_chunk_delay_s,
            chunk_pace_s=SPEECH_PACE_S,
        )

    async def _get(self, request: _Request, route: str, relative: str, send: asgi.Send) -> None:
        if route == "extra":
            handler = getattr(self.profile, self.profile.extra_routes()[relative])
            body = handler(request.record.api_key)
        elif relative == "/models":
            body = self.profile.models_list(
                dict(part.partition("=")[::2] for part in request.record.query.split("&") if part)
            )
        else:
            model_id = relative[len("/models/") :]
            model = self.profile.model(model_id)
            if model is None:
                raise self.profile.retrieve_not_found(model_id)
            body = self.profile.model_object(model)
        request.record.status = 200
        await asgi.send_json(
            send, 200, body, self._success_headers(request, None, 0), faults=self._answer_faults(request)
        )
