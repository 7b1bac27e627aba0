"""The Responses front door: ``POST /v1/responses`` and the calls on a stored response, in OpenAI's format.

A provider serving the Responses API itself (``responses`` in its ``native_apis``) gets the body untouched
but for ``model``, and the gateway remembers which project and key made each response id
(``stored_responses``); ``GET``/``DELETE`` ``/v1/responses/{id}``, ``cancel`` and ``input_items`` then go
to that key (``forward.py``), and another project gets a 404. Every other model is translated to the
canonical chat format (``responses_ingress``) and its answer back into a ``response`` or the typed event
stream (``responses_egress``); the gateway keeps such a response and its conversation (``store``, on by
default) so that ``previous_response_id`` and the calls on it work the same. Requests with ``store: false``
(Codex's) use the response cache like chat completions; a stored response is never a cache hit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from byokgate.asgi import JSON_CONTENT, parse_json_object, read_body, send_bytes, send_error
from byokgate.cache.responses_replay import ResponseAssembler, replay_response_stream, storable_response
from byokgate.domain.responses_format import canonical_usage
from byokgate.domain.sse import frame_json
from byokgate.domain.stream import EventStream, TranslationError, UpstreamFormatError
from byokgate.domain.upstream import NativeCall
from byokgate.errors import ApiError, InvalidRequestError, NotFoundError
from byokgate.proxy.auth import authenticate
from byokgate.proxy.bodies import arm
from byokgate.proxy.cached import Replay
from byokgate.proxy.call import Call, Operation, check_model_name, routing_options
from byokgate.proxy.continuation import Transcript
from byokgate.proxy.doors.responses_egress import (
    ResponseEvents,
    ResponseStream,
    item_id,
    response_shell,
    to_response,
)
from byokgate.proxy.doors.responses_ingress import input_items, namespaces, to_chat_payload
from byokgate.proxy.doors.responses_items import listed, page_of
from byokgate.proxy.exchange import Exchange, Responded
from byokgate.proxy.forward import Forwarder
from byokgate.proxy.pipeline import Pipeline
from byokgate.proxy.stored_responses import StoredResponse, StoredResponses
from byokgate.routing.policy import Route
from byokgate.snapshot.holder import SnapshotHolder

API = "responses"


def _render(entry: bytes) -> list[bytes]:
    response: dict[str, Any] = orjson.loads(entry)
    return replay_response_stream(response)


def _usage(entry: dict[str, Any]) -> dict[str, Any]:
    return canonical_usage(entry.get("usage"))


# Entries are completed ``response``s (a stream's from its ``response.completed`` event, always assembled).
_REPLAY = Replay(_render, "response", _usage, ResponseAssembler, b'"response.completed"', storable_response)


def not_found(response_id: str) -> NotFoundError:
    return NotFoundError(f"Response with id '{response_id}' not found.", param="response_id")


class ResponsesDoor:
    api = API

    def __init__(
        self,
        *,
        snapshot: SnapshotHolder,
        pipeline: Pipeline,
        max_body_bytes: int,
        stored: StoredResponses,
        forwarder: Forwarder,
    ) -> None:
        self._snapshot = snapshot
        self._pipeline = pipeline
        self._max_body_bytes = max_body_bytes
        self._stored = stored
        self._forwarder = forwarder

    async def handle(self, scope: Scope, receive: Receive, send: Responded, exchange: Exchange) -> None:
        """``POST /v1/responses``."""
        headers = scope["headers"]
        exchange.key = key = authenticate(self._snapshot.current, headers, datetime.now(UTC))
        raw = await read_body(receive, self._max_body_bytes)
        arm(self._snapshot.current, exchange, send, raw)
        body = parse_json_object(raw)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise InvalidRequestError(
                "Missing required parameter: 'model'.", param="model", code="missing_required_parameter"
            )
        check_model_name(model)
        exchange.model = model
        fallbacks, preferences = routing_options(body, model)
        stream = body.get("stream", False)
        if not isinstance(stream, bool):
            raise InvalidRequestError(
                "Invalid type for 'stream': expected a boolean.", param="stream", code="invalid_type"
            )
        exchange.stream = stream
        rendering = await self._rendering(body, key.project_id, exchange)
        call = Call(
            door=rendering,
            operation=Operation.CHAT,
            model=model,
            body=body,
            body_size=len(raw),
            headers=headers,
            stream=stream,
            include_usage=True,  # response.completed reports the usage: a translated stream must carry it
            native=NativeCall(API),
            cache_scope=API,
            # Only what is not stored is cached: a stored response is a new object the client can fetch.
            replay=_REPLAY if body.get("store") is False else None,
            fallbacks=fallbacks,
            preferences=preferences,
        )
        await self._pipeline.run(call, exchange, send, receive)
        if exchange.status == 200 and body.get("store") is not False and exchange.route is not None:
            await self._remember(rendering, exchange, key.project_id)

    async def _rendering(
        self, body: dict[str, Any], project_id: str, exchange: Exchange
    ) -> ResponseRendering:
        """How this request's answer is rendered; a ``previous_response_id`` the gateway keeps is resolved
        here into the conversation it continues (sent whole, to any provider)."""
        previous = body.get("previous_response_id")
        if previous is None:
            return ResponseRendering(self, body, [], input_items(body.get("input")), None)
        if not isinstance(previous, str) or not previous:
            raise InvalidRequestError(
                "Invalid type for 'previous_response_id': expected a string.",
                param="previous_response_id",
                code="invalid_type",
            )
        found = await self._stored.find(previous, project_id)
        if found is None:  # as OpenAI answers it: a 400 naming the parameter
            raise InvalidRequestError(
                f"Previous response with id '{previous}' not found.",
                param="previous_response_id",
                code="previous_response_not_found",
            )
        try:
            inputs = input_items(body.get("input"))
        except TranslationError as exc:
            raise InvalidRequestError(exc.message, param=exc.param, code=exc.code) from None
        if (
            not found.kept
        ):  # the provider keeps it: the request goes there as it is, with the key that made it
            if found.credential_id is not None:
                exchange.pinned_key = (found.provider, found.credential_id)
            return ResponseRendering(self, body, [], inputs, found)
        context = found.conversation()
        echo = dict(body)
        body["input"] = [*_resent(context), *inputs]
        del body["previous_response_id"]
        return ResponseRendering(self, echo, context, inputs, None)

    async def _remember(self, rendering: ResponseRendering, exchange: Exchange, project_id: str) -> None:
        route = exchange.route
        assert route is not None
        final = rendering.final
        if final is not None:  # made by translation: kept whole
            stored = StoredResponse(
                final["id"],
                project_id,
                route.provider,
                exchange.credential_id,
                kept=True,
                response=final,
                inputs=[listed(item) for item in rendering.inputs],
                context=rendering.context,
            )
            await self._stored.keep(stored)
        elif exchange.answer_id is not None:  # the provider keeps it: remember whose it is
            await self._stored.owned(exchange.answer_id, project_id, route.provider, exchange.credential_id)

    async def resource(
        self, scope: Scope, receive: Receive, send: Responded, exchange: Exchange, rest: str
    ) -> None:
        """``GET``/``DELETE`` ``/v1/responses/{id}``, ``POST .../cancel``, ``GET .../input_items``."""
        exchange.endpoint = "responses/id"
        method = scope["method"]
        exchange.key = key = authenticate(self._snapshot.current, scope["headers"], datetime.now(UTC))
        response_id, _, action = rest.partition("/")
        allowed = {"": ("GET", "DELETE"), "cancel": ("POST",), "input_items": ("GET",)}.get(action)
        if allowed is None or method not in allowed or not response_id:
            raise NotFoundError(f"Invalid URL ({method} /v1/responses/{rest})", code="unknown_url")
        found = await self._stored.find(response_id, key.project_id)
        if found is None:
            raise not_found(response_id)
        if not found.kept:
            query = scope.get("query_string", b"").decode("latin-1")
            path = f"responses/{rest}" + (f"?{query}" if query else "")
            body = await read_body(receive, self._max_body_bytes) if method == "POST" else None
            status = await self._forwarder.relay(
                send, exchange, found.provider, found.credential_id, method, path, body or None
            )
            if method == "DELETE" and status == 200:
                await self._stored.forget(response_id)
            return
        if action == "cancel":
            raise InvalidRequestError("Cannot cancel a synchronous response.", param="response_id")
        if action == "input_items":
            answer = page_of(found.inputs, _query(scope))
        elif method == "DELETE":
            await self._stored.forget(response_id)
            answer = {"id": response_id, "object": "response.deleted", "deleted": True}
        else:
            answer = found.response
        exchange.status = 200
        await send_bytes(send, 200, orjson.dumps(answer), [JSON_CONTENT, *exchange.gateway_headers()])

    async def send_error(self, send: Send, error: ApiError, exchange: Exchange) -> None:
        await send_error(send, error, exchange.gateway_headers())


def _query(scope: Scope) -> dict[str, str]:
    raw = scope.get("query_string", b"").decode("latin-1")
    return dict(part.partition("=")[::2] for part in raw.split("&") if part)


_RESENT_FIELDS = {
    "message": ("type", "role", "content"),
    "function_call": ("type", "call_id", "name", "arguments"),
    "function_call_output": ("type", "call_id", "output"),
}


def _resent(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A kept conversation as input items any provider takes: without the gateway's item ids and statuses
    (they name nothing upstream) and reasoning items (no provider can verify another's)."""
    resent = []
    for item in items:
        kind = item.get("type", "message")
        fields = _RESENT_FIELDS.get(kind)
        if fields is not None:
            resent.append({"type": kind, **{name: item[name] for name in fields[1:] if name in item}})
    return resent


class ResponseRendering:
    """One request's view of the door (the ``Door`` the executor renders through): its response id, the
    settings its ``response`` echoes, and the finished response once it is rendered."""

    api = API

    def __init__(
        self,
        door: ResponsesDoor,
        echo: dict[str, Any],
        context: list[dict[str, Any]],
        inputs: list[dict[str, Any]],
        provider_kept: StoredResponse | None,
    ) -> None:
        self._door = door
        self._echo = echo
        self.context = context
        self.inputs = inputs
        self._provider_kept = provider_kept
        self.response_id = item_id("resp")
        self._answer: dict[str, Any] | None = None
        self._events: ResponseEvents | None = None

    @property
    def final(self) -> dict[str, Any] | None:
        """The finished response, when the gateway rendered it (a translated model's)."""
        if self._answer is not None:
            return self._answer
        return self._events.final if self._events is not None else None

    def canonical(self, body: dict[str, Any]) -> dict[str, Any]:
        if self._provider_kept is not None:
            raise TranslationError(
                f"previous_response_id '{self._provider_kept.response_id}' is stored by "
                f"{self._provider_kept.provider}: continue it with one of its models, or send the "
                "conversation in 'input'",
                param="previous_response_id",
            )
        return to_chat_payload(body)

    def _shell(self, route: Route) -> dict[str, Any]:
        return response_shell(self._echo, self.response_id, route.requested_model)

    def answer(self, completion: Any, raw: bytes, route: Route) -> bytes:
        if not isinstance(completion, dict):
            raise UpstreamFormatError("the answer is not a JSON object")
        self._answer = to_response(completion, self._shell(route), namespaces(self._echo))
        return orjson.dumps(self._answer)

    def events(self, inner: EventStream, route: Route) -> EventStream:
        self._events = ResponseEvents(self._shell(route), namespaces(self._echo))
        return ResponseStream(inner, self._events)

    def error_event(self, message: str) -> bytes:
        if self._events is not None:
            return self._events.error(message)
        error = {
            "type": "error",
            "code": "server_error",
            "message": message,
            "param": None,
            "sequence_number": 0,
        }
        return frame_json(error, "error")

    def transcript(self) -> Transcript | None:
        return None  # the Responses events are not carried on by a fallback (yet): a break ends the stream

    async def send_error(self, send: Send, error: ApiError, exchange: Exchange) -> None:
        await self._door.send_error(send, error, exchange)
