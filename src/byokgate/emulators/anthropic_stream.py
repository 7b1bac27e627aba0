"""The SSE form of an Anthropic message: `event: <type>` + `data: <json>` frames, no `[DONE]`.

Order, as captured from the real API: `message_start` (the message with empty `content`, null stop
fields, input usage and `output_tokens` 1), then per block `content_block_start` (the block emptied) ->
deltas -> `content_block_stop`, one `ping` after the first block start, `message_delta` (stop reason,
stop sequence, cumulative usage; and `context_management` when the message has it, which `message_start`
then carries as null) and `message_stop`. Text goes out a few words per `text_delta` (as
`content.stream_pieces`), tool input as an empty `input_json_delta` then three `partial_json` pieces of
its JSON, thinking as `thinking_delta`s then one `signature_delta`.

Faults: `disconnect_mid_stream` (close abruptly after N frames), `stream_stall` (silence after N frames,
then a close without `message_delta` / `message_stop`), `slow_first_token` (`message_start`, the first
`content_block_start` and `ping` at once, then the wait before the first delta), `malformed_chunk` (the
JSON of frame N, or of the next frame that is not a `ping`, cut in half), `error_event` (after N frames an
`event: error` with an `overloaded_error` body, then the end). `no_done` changes nothing: these streams
have no `[DONE]`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from byokgate.domain import sse
from byokgate.emulators import asgi, content
from byokgate.emulators.faults import NO_ANSWER_FAULTS, AnswerFaults

PING = b'event: ping\ndata: {"type": "ping"}\n\n'
ARGUMENT_FRAGMENTS = 3
# Frames sent before any content (`slow_first_token` waits after them).
OPENING = (b"event: message_start\n", b"event: content_block_start\n", b"event: ping\n")


def frame(event: dict[str, Any]) -> bytes:
    return sse.frame_json(event, str(event["type"]))


def _start_block(block: dict[str, Any]) -> dict[str, Any]:
    kind = block["type"]
    if kind == "text":
        return {"type": "text", "text": ""}
    if kind == "thinking":
        return {"type": "thinking", "thinking": "", "signature": ""}
    return {**block, "input": {}}


def _deltas(block: dict[str, Any]) -> Iterator[dict[str, Any]]:
    kind = block["type"]
    if kind == "text":
        for piece in content.stream_pieces(block["text"]):
            yield {"type": "text_delta", "text": piece}
    elif kind == "thinking":
        for piece in content.stream_pieces(block["thinking"]) if block["thinking"] else ():
            yield {"type": "thinking_delta", "thinking": piece}
        yield {"type": "signature_delta", "signature": block["signature"]}
    else:
        yield {"type": "input_json_delta", "partial_json": ""}
        for piece in content.split_evenly(orjson.dumps(block["input"]).decode(), ARGUMENT_FRAGMENTS):
            yield {"type": "input_json_delta", "partial_json": piece}


def stream_frames(message: dict[str, Any]) -> Iterator[bytes]:
    """The frames of a streamed answer whose complete (non-streamed) form is `message`."""
    usage = message["usage"]
    start_usage = {key: value for key, value in usage.items() if key != "output_tokens_details"}
    start_usage["output_tokens"] = min(1, usage["output_tokens"])
    started = {
        **message,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "stop_details": None,
        "usage": start_usage,
    }
    if "context_management" in message:
        started["context_management"] = None
    yield frame({"type": "message_start", "message": started})
    blocks = message["content"]
    if not blocks:
        yield PING
    for index, block in enumerate(blocks):
        yield frame({"type": "content_block_start", "index": index, "content_block": _start_block(block)})
        if index == 0:
            yield PING
        for delta in _deltas(block):
            yield frame({"type": "content_block_delta", "index": index, "delta": delta})
        yield frame({"type": "content_block_stop", "index": index})
    final_usage = {
        key: usage[key]
        for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")
    }
    if "output_tokens_details" in usage:
        final_usage["output_tokens_details"] = usage["output_tokens_details"]
    delta = {
        "stop_reason": message["stop_reason"],
        "stop_sequence": message["stop_sequence"],
        "stop_details": message["stop_details"],
    }
    ending: dict[str, Any] = {"type": "message_delta", "delta": delta, "usage": final_usage}
    if "context_management" in message:
        ending["context_management"] = message["context_management"]
    yield frame(ending)
    yield frame({"type": "message_stop"})


def _broken(data: bytes) -> bytes:
    head, _, body = data.partition(b"\ndata: ")
    return head + b"\ndata: " + body[: max(4, len(body) // 2)].rstrip(b"\n") + b"\n\n"


async def send_stream(
    send: asgi.Send,
    frames: Iterable[bytes],
    headers: Iterable[tuple[str, str]],
    *,
    faults: AnswerFaults = NO_ANSWER_FAULTS,
    error_body: dict[str, Any] | None = None,
    chunk_delay_s: float = 0.0,
) -> None:
    """Send SSE frames (faults as in the module docstring; N counts frames, pings included, but the broken
    frame is the first event from N on that is not a `ping`, which clients ignore)."""
    raw = [(b"content-type", asgi.SSE_TYPE), (b"cache-control", b"no-cache"), *asgi.encode_headers(headers)]
    await send({"type": "http.response.start", "status": 200, "headers": raw})
    breaker = asgi.StreamBreaker(send, faults)
    malformed_at, error_after = faults.malformed_at, faults.error_after
    for index, data in enumerate(frames):
        if not await breaker.proceed(index, data.startswith(OPENING)):
            return
        if error_after is not None and index >= error_after:
            await send({"type": "http.response.body", "body": frame(error_body or {}), "more_body": False})
            return
        if chunk_delay_s:
            await asyncio.sleep(chunk_delay_s)
        body = data
        if malformed_at is not None and index >= malformed_at and data != PING:
            body, malformed_at = _broken(data), None
        await send({"type": "http.response.body", "body": body, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})
