"""The Messages front door: ``/v1/messages`` and ``/v1/messages/count_tokens``, in Anthropic's format.

The project key comes as ``x-api-key`` or ``Authorization: Bearer``; errors and streams are rendered in the
format's shapes. A provider serving the Messages API itself gets the body and the client's
``anthropic-version`` / ``anthropic-beta`` untouched (token counting only goes there); any other model is
translated to the canonical format (``messages_ingress``) and its answer back (``messages_egress``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from byokgate.asgi import JSON_CONTENT, parse_json_object, read_body, send_bytes
from byokgate.cache.message_replay import MessageAssembler, replay_message_stream, storable_message
from byokgate.domain.messages_format import canonical_usage, error_body, error_event
from byokgate.domain.stream import EventStream, UpstreamFormatError
from byokgate.domain.upstream import NativeCall
from byokgate.errors import ApiError, InvalidRequestError, NotFoundError, advice_headers
from byokgate.proxy.auth import authenticate
from byokgate.proxy.bodies import arm
from byokgate.proxy.cached import Replay
from byokgate.proxy.call import Call, Operation, check_model_name, routing_options
from byokgate.proxy.continuation import Transcript
from byokgate.proxy.doors.messages_egress import MessageStream, to_message
from byokgate.proxy.doors.messages_ingress import to_chat_payload
from byokgate.proxy.exchange import Exchange, Responded
from byokgate.proxy.pipeline import Pipeline
from byokgate.routing.policy import Route
from byokgate.snapshot.holder import SnapshotHolder

# The format's request headers: they change an answer without being in the body (part of the cache key)
# and go upstream with a native pass-through.
_FORMAT_HEADERS = (b"anthropic-version", b"anthropic-beta")


def _render(entry: bytes) -> list[bytes]:
    message: dict[str, Any] = orjson.loads(entry)
    return replay_message_stream(message)


def _usage(entry: dict[str, Any]) -> dict[str, Any]:
    usage = entry.get("usage")
    return canonical_usage(usage) if isinstance(usage, dict) else {}


# Entries are ``message``s; a recorded stream with tool input is assembled (it must parse) before storing.
_REPLAY = Replay(_render, "message", _usage, MessageAssembler, b'"input_json_delta"', storable_message)


class MessagesDoor:
    api = "messages"

    def __init__(self, *, snapshot: SnapshotHolder, pipeline: Pipeline, max_body_bytes: int) -> None:
        self._snapshot = snapshot
        self._pipeline = pipeline
        self._max_body_bytes = max_body_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Responded, exchange: Exchange) -> None:
        headers = scope["headers"]
        exchange.key = authenticate(self._snapshot.current, headers, datetime.now(UTC), x_api_key=True)
        raw = await read_body(receive, self._max_body_bytes)
        arm(self._snapshot.current, exchange, send, raw)
        body = parse_json_object(raw)
        counting = scope["path"].endswith("/count_tokens")
        versions = {name: value for name, value in headers if name in _FORMAT_HEADERS}
        if b"anthropic-version" not in versions:
            raise InvalidRequestError("anthropic-version: header is required", param="anthropic-version")
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise InvalidRequestError("model: Field required", param="model")
        check_model_name(model)
        exchange.model = model
        fallbacks, preferences = routing_options(body, model)
        max_tokens = body.get("max_tokens")
        if not counting and (
            not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 0
        ):
            raise InvalidRequestError(
                "max_tokens: Field required (a non-negative integer)", param="max_tokens"
            )
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            raise InvalidRequestError("messages: at least one message is required", param="messages")
        stream = body.get("stream", False)
        if not isinstance(stream, bool):
            raise InvalidRequestError("stream: Input should be a valid boolean", param="stream")
        exchange.stream = stream = stream and not counting
        native = NativeCall(
            scope["path"],
            {name.decode("latin-1"): value.decode("latin-1") for name, value in versions.items()},
        )
        scoped = b"\0".join(value for name, value in headers if name in _FORMAT_HEADERS)
        call = Call(
            door=self,
            operation=Operation.COUNT_TOKENS if counting else Operation.CHAT,
            model=model,
            body=body,
            body_size=len(raw),
            headers=headers,
            stream=stream,
            include_usage=True,  # message_delta reports the usage: a translated stream must carry it
            native=native,
            cache_scope="" if counting else "messages\0" + scoped.decode("latin-1"),
            replay=None if counting else _REPLAY,
            fallbacks=fallbacks,
            preferences=preferences,
        )
        await self._pipeline.run(call, exchange, send, receive)

    @staticmethod
    def speaks(headers: list[tuple[bytes, bytes]]) -> bool:
        """The request is in this door's format (the Anthropic SDK sends ``anthropic-version`` on every
        call): a shared path such as ``/v1/models`` answers in its shapes."""
        return any(name == b"anthropic-version" for name, _ in headers)

    def models(
        self, reachable: list[tuple[str, str]], model_id: str, query: dict[str, str]
    ) -> dict[str, Any]:
        """``GET /v1/models`` (a page: ``limit`` 1-1000, 20 by default, ``after_id`` / ``before_id``) or
        ``/v1/models/{id}`` in Anthropic's shapes."""
        ids = [model for model, _ in reachable]
        if model_id:
            if model_id not in ids:
                raise NotFoundError(f"model: {model_id}")
            return _model(model_id)
        try:
            limit = int(query.get("limit", "20"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 1000:
            raise InvalidRequestError("limit: Input should be between 1 and 1000", param="limit")
        after, before = query.get("after_id"), query.get("before_id")
        if after:
            ids = ids[ids.index(after) + 1 :] if after in ids else []
        page = ids[:limit]
        if before:
            ids = ids[: ids.index(before)] if before in ids else []
            page = ids[-limit:]
        return {
            "data": [_model(model) for model in page],
            "has_more": len(ids) > limit,
            "first_id": page[0] if page else None,
            "last_id": page[-1] if page else None,
        }

    def canonical(self, body: dict[str, Any]) -> dict[str, Any]:
        return to_chat_payload(body)

    def answer(self, completion: Any, raw: bytes, route: Route) -> bytes:
        if not isinstance(completion, dict):
            raise UpstreamFormatError("the answer is not a JSON object")
        return orjson.dumps(to_message(completion, route.requested_model))

    def events(self, inner: EventStream, route: Route) -> EventStream:
        return MessageStream(inner, route.requested_model)

    def error_event(self, message: str) -> bytes:
        return error_event(message)

    def transcript(self) -> Transcript | None:
        return None  # Anthropic's events are not carried on by a fallback (yet): a break ends the stream

    async def send_error(self, send: Send, error: ApiError, exchange: Exchange) -> None:
        rendered = error_body(error.status, error.message, exchange.request_id)
        if error.attempts is not None:
            rendered["error"]["attempts"] = error.attempts
        body = orjson.dumps(rendered)
        extra = advice_headers(error)
        await send_bytes(send, error.status, body, [JSON_CONTENT, *exchange.gateway_headers(), *extra])


def _model(model: str) -> dict[str, Any]:
    # The catalogs carry no display names or release dates: the id, and the epoch (as ``created`` is 0).
    return {"type": "model", "id": model, "display_name": model, "created_at": "1970-01-01T00:00:00Z"}
