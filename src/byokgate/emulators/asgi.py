"""Minimal raw-ASGI plumbing for the emulators: read a body, send JSON, send SSE, break on purpose.

No framework on this path: emulators are the upstream in load benchmarks and must cost next to nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

import orjson

from byokgate.domain import sse

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON_TYPE = b"application/json"
SSE_TYPE = b"text/event-stream; charset=utf-8"
DONE = sse.DONE


async def read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def header_map(scope: Scope) -> dict[str, str]:
    """Request headers with lower-cased names (the last value wins on repeats)."""
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}


def encode_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]


async def send_json(
    send: Send, status: int, body: Any, headers: Iterable[tuple[str, str]] = (), *, fault: str | None = None
) -> None:
    """Send a JSON answer; `fault` `disconnect` sends half of it and returns without finishing (the
    server then drops the connection), `malformed` sends a truncated, unparseable body."""
    await send_bytes(send, status, orjson.dumps(body), JSON_TYPE, headers, fault=fault)


async def send_bytes(
    send: Send,
    status: int,
    payload: bytes,
    content_type: bytes,
    headers: Iterable[tuple[str, str]] = (),
    *,
    fault: str | None = None,
) -> None:
    """Send a body already encoded (`fault` as for `send_json`)."""
    if fault == "malformed":
        payload = payload[: len(payload) // 2]
    raw = [
        (b"content-type", content_type),
        (b"content-length", str(len(payload)).encode()),
        *encode_headers(headers),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    if fault == "disconnect":
        await send({"type": "http.response.body", "body": payload[: len(payload) // 2], "more_body": True})
        return
    await send({"type": "http.response.body", "body": payload, "more_body": False})


def sse_event(data: Any) -> bytes:
    return sse.frame_json(data)


async def send_sse(
    send: Send,
    events: Iterable[Any],
    headers: Iterable[tuple[str, str]],
    *,
    preamble: bytes | None = None,
    disconnect_after: int | None = None,
    malformed_at: int | None = None,
    chunk_delay_s: float = 0.0,
    done: bool = True,
) -> None:
    """Stream `events` as `data: <json>` lines then `data: [DONE]` (unless `done` is false: some APIs just
    close the stream).

    `disconnect_after=K` stops after K events without finishing the response (an abrupt close);
    `malformed_at=K` inserts a truncated JSON data line before event K.
    """
    raw = [(b"content-type", SSE_TYPE), (b"cache-control", b"no-cache"), *encode_headers(headers)]
    await send({"type": "http.response.start", "status": 200, "headers": raw})
    if preamble:
        await send({"type": "http.response.body", "body": preamble, "more_body": True})
    for index, event in enumerate(events):
        if disconnect_after is not None and index >= disconnect_after:
            return
        encoded = sse_event(event)
        if malformed_at is not None and index == malformed_at:
            broken = encoded[: max(8, len(encoded) // 2)].rstrip(b"\n") + b"\n\n"
            await send({"type": "http.response.body", "body": broken, "more_body": True})
        if chunk_delay_s:
            await asyncio.sleep(chunk_delay_s)
        await send({"type": "http.response.body", "body": encoded, "more_body": True})
    await send({"type": "http.response.body", "body": DONE if done else b"", "more_body": False})


async def lifespan(receive: Receive, send: Send) -> None:
    """Acknowledge start-up and shutdown; the emulators hold no resources."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
