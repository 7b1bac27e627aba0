"""The OpenAI-format front door: ``/v1/chat/completions`` and ``/v1/embeddings``.

Its format is the canonical one, so it renders nothing: answers and streams pass as the adapter made them
(byte for byte from OpenAI-format providers), errors in OpenAI's shape.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from byokgate.asgi import parse_json_object, read_body, send_error
from byokgate.cache.replay import StreamAssembler, replay_stream, storable
from byokgate.domain.chunks import error_event
from byokgate.domain.stream import EventStream
from byokgate.errors import ApiError, InvalidRequestError
from byokgate.proxy.auth import authenticate
from byokgate.proxy.bodies import arm
from byokgate.proxy.cached import Replay
from byokgate.proxy.call import Call, Operation, check_model_name, routing_options
from byokgate.proxy.continuation import ChunkTranscript, Transcript
from byokgate.proxy.exchange import Exchange, Responded, usage_of
from byokgate.proxy.pipeline import Pipeline
from byokgate.routing.policy import Route
from byokgate.snapshot.holder import SnapshotHolder


def _render(entry: bytes) -> list[bytes]:
    return replay_stream(orjson.loads(entry), include_usage=False)


def _render_with_usage(entry: bytes) -> list[bytes]:
    return replay_stream(orjson.loads(entry), include_usage=True)


# Entries are ``chat.completion``s; a recorded stream with tool calls is assembled (its arguments must
# parse) before it is stored.
_REPLAY = Replay(_render, "chat", usage_of, StreamAssembler, b'"tool_calls"', storable)
_REPLAY_WITH_USAGE = _REPLAY._replace(render=_render_with_usage, variant="chat+usage")


class ChatDoor:
    api = "chat"

    def __init__(self, *, snapshot: SnapshotHolder, pipeline: Pipeline, max_body_bytes: int) -> None:
        self._snapshot = snapshot
        self._pipeline = pipeline
        self._max_body_bytes = max_body_bytes

    async def handle(
        self, scope: Scope, receive: Receive, send: Responded, exchange: Exchange, operation: Operation
    ) -> None:
        exchange.key = authenticate(self._snapshot.current, scope["headers"], datetime.now(UTC))
        raw = await read_body(receive, self._max_body_bytes)
        arm(self._snapshot.current, exchange, send, raw)
        payload = parse_json_object(raw)
        model = payload.get("model")
        if not isinstance(model, str) or not model:
            raise InvalidRequestError(
                "you must provide a model parameter", param="model", code="missing_model"
            )
        check_model_name(model)
        exchange.model = model
        fallbacks, preferences = routing_options(payload, model)
        _validate(operation, payload)
        stream = payload.get("stream", False)
        if not isinstance(stream, bool) or (stream and operation is not Operation.CHAT):
            raise InvalidRequestError("'stream' must be a boolean", param="stream", code="invalid_type")
        exchange.stream = stream
        options = payload.get("stream_options")
        include_usage = stream and isinstance(options, dict) and options.get("include_usage") is True
        call = Call(
            door=self,
            operation=operation,
            model=model,
            body=payload,
            body_size=len(raw),
            headers=scope["headers"],
            stream=stream,
            include_usage=include_usage,
            cost_in_stream=include_usage,
            withheld_usage=stream and not include_usage,
            fallbacks=fallbacks,
            preferences=preferences,
            replay=(_REPLAY_WITH_USAGE if include_usage else _REPLAY)
            if operation is Operation.CHAT
            else None,
        )
        await self._pipeline.run(call, exchange, send, receive)

    # Rendering: the canonical format is this door's own.

    def canonical(self, body: dict[str, Any]) -> dict[str, Any]:
        return body

    def answer(self, completion: Any, raw: bytes, route: Route) -> bytes:
        return raw

    def events(self, inner: EventStream, route: Route) -> EventStream:
        return inner

    def error_event(self, message: str) -> bytes:
        return error_event(message)

    def transcript(self) -> Transcript | None:
        return ChunkTranscript()

    async def send_error(self, send: Send, error: ApiError, exchange: Exchange) -> None:
        await send_error(send, error, exchange.gateway_headers())


def _validate(operation: Operation, payload: dict[str, Any]) -> None:
    if operation is Operation.CHAT:
        messages = payload.get("messages")
        if not isinstance(messages, list) or not messages:
            raise InvalidRequestError(
                "'messages' must be a non-empty array of message objects",
                param="messages",
                code="invalid_messages",
            )
        if not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages):
            raise InvalidRequestError(
                "each message must be an object with a 'role'", param="messages", code="invalid_messages"
            )
    elif "input" not in payload:
        raise InvalidRequestError("you must provide an input parameter", param="input", code="missing_input")
