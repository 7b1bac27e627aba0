"""Minimal raw-ASGI plumbing for the emulators: read a body, send JSON, send SSE, break on purpose.

No framework on this path: emulators are the upstream in load benchmarks and must cost next to nothing.

Breaking a connection needs more than ASGI offers: an app cannot close a connection without answering
(uvicorn would send a 500). `reset_connection` and `close_connection` therefore reach the server's
transport through the `send` callable (uvicorn's `RequestResponseCycle.send`, under httptools and h11)
and then wait for `receive()` to report the disconnect, so that the server adds nothing. Where no
transport can be reached (an in-process ASGI client) the app raises `ConnectionResetError` instead.
Waits that hold a connection (`pause`) end early when the client hangs up; they read `receive` from a
context variable that `Emulator.__call__` binds for each request.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import socket
import struct
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any, Protocol

import orjson

from byokgate.domain import sse
from byokgate.emulators.faults import NO_ANSWER_FAULTS, AnswerFaults

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON_TYPE = b"application/json"
SSE_TYPE = b"text/event-stream; charset=utf-8"
DONE = sse.DONE
DISCONNECT_WAIT_S = 5.0  # how long to wait for the server to report a connection we closed
_RECEIVE: contextvars.ContextVar[Receive | None] = contextvars.ContextVar("emulator_receive", default=None)


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
    send: Send,
    status: int,
    body: Any,
    headers: Iterable[tuple[str, str]] = (),
    *,
    faults: AnswerFaults = NO_ANSWER_FAULTS,
) -> None:
    """Send a JSON answer, broken as `faults` say (see `send_bytes`)."""
    await send_bytes(send, status, orjson.dumps(body), JSON_TYPE, headers, faults=faults)


async def send_bytes(
    send: Send,
    status: int,
    payload: bytes,
    content_type: bytes,
    headers: Iterable[tuple[str, str]] = (),
    *,
    faults: AnswerFaults = NO_ANSWER_FAULTS,
) -> None:
    """Send a body already encoded. Faults: `slow_first_token` waits before answering; `disconnect` sends
    half the body and closes; `stall` sends the headers, stays silent, then closes without the body;
    `malformed` sends a truncated body (with a matching length)."""
    if faults.first_token_delay_s and await pause(faults.first_token_delay_s):
        return
    fault = faults.json_fault
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
        await close_connection(send)
        return
    if fault == "stall":  # the headers are on the wire already (servers write them on start)
        if not await pause(faults.stall_s):
            await close_connection(send)
        return
    await send({"type": "http.response.body", "body": payload, "more_body": False})


def sse_event(data: Any) -> bytes:
    return sse.frame_json(data)


class StreamBreaker:
    """Applies `AnswerFaults` to a stream being sent, event by event: call `proceed(index, opening)` before
    sending event `index`; False means stop here (the connection was closed, or the client left).

    `opening` tells whether the event comes before any content (a role chunk, `message_start`...):
    `slow_first_token` waits before the first event that is not opening."""

    __slots__ = ("_waiting", "faults", "send")

    def __init__(self, send: Send, faults: AnswerFaults) -> None:
        self.send = send
        self.faults = faults
        self._waiting = faults.first_token_delay_s > 0

    async def proceed(self, index: int, opening: bool = False) -> bool:
        faults = self.faults
        if faults.disconnect_after is not None and index >= faults.disconnect_after:
            await close_connection(self.send)
            return False
        if faults.stall_after is not None and index >= faults.stall_after:
            if not await pause(faults.stall_s):
                await close_connection(self.send)
            return False
        if self._waiting and not opening:
            self._waiting = False
            return not await pause(faults.first_token_delay_s)
        return True


async def send_sse(
    send: Send,
    events: Iterable[Any],
    headers: Iterable[tuple[str, str]],
    *,
    preamble: bytes | None = None,
    faults: AnswerFaults = NO_ANSWER_FAULTS,
    opening: Callable[[Any], bool] | None = None,
    chunk_delay_s: float = 0.0,
    done: bool = True,
    named: bool = False,
) -> None:
    """Stream `events` as `data: <json>` lines then `data: [DONE]` (unless `done` is false, or `no_done`
    asks: some APIs just close the stream). `named`: each event also gets an `event: <its "type">` line
    (OpenAI's Responses API).

    Faults as `StreamBreaker` applies them; `malformed_chunk` (`faults.malformed_at` = K) inserts a
    truncated JSON data line before event K. `opening(event)` tells the events sent before
    `slow_first_token`'s wait (default: none).
    """
    raw = [(b"content-type", SSE_TYPE), (b"cache-control", b"no-cache"), *encode_headers(headers)]
    await send({"type": "http.response.start", "status": 200, "headers": raw})
    if preamble:
        await send({"type": "http.response.body", "body": preamble, "more_body": True})
    breaker = StreamBreaker(send, faults)
    malformed_at = faults.malformed_at
    for index, event in enumerate(events):
        if not await breaker.proceed(index, opening is not None and opening(event)):
            return
        encoded = sse.frame_json(event, str(event["type"])) if named else sse_event(event)
        if malformed_at is not None and index == malformed_at:
            broken = encoded[: max(8, len(encoded) // 2)].rstrip(b"\n") + b"\n\n"
            await send({"type": "http.response.body", "body": broken, "more_body": True})
        if chunk_delay_s:
            await asyncio.sleep(chunk_delay_s)
        await send({"type": "http.response.body", "body": encoded, "more_body": True})
    end = DONE if done and faults.done else b""
    await send({"type": "http.response.body", "body": end, "more_body": False})


# connections ---------------------------------------------------------------------------------------
def bind_receive(receive: Receive) -> contextvars.Token[Receive | None]:
    """Make `receive` the current request's (for `pause` and the connection faults)."""
    return _RECEIVE.set(receive)


def unbind_receive(token: contextvars.Token[Receive | None]) -> None:
    _RECEIVE.reset(token)


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def pause(seconds: float) -> bool:
    """Wait `seconds`, or less when the client disconnects first; True when the client is gone."""
    receive = _RECEIVE.get()
    if receive is None:
        await asyncio.sleep(seconds)
        return False
    try:
        await asyncio.wait_for(_until_disconnect(receive), seconds)
    except TimeoutError:
        return False
    return True


class Transport(Protocol):
    """What the connection faults need of a server transport (asyncio's, or uvloop's, which does not
    subclass asyncio's classes)."""

    def get_extra_info(self, name: str, default: Any = None) -> Any: ...
    def is_closing(self) -> bool: ...
    def close(self) -> None: ...
    def abort(self) -> None: ...


def transport_of(send: Send) -> Transport | None:
    """The server transport behind `send`, when the server exposes it (uvicorn does)."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    needed = ("get_extra_info", "is_closing", "close", "abort")
    return transport if all(callable(getattr(transport, name, None)) for name in needed) else None


async def _closed(transport: Transport, *, reset: bool) -> None:
    if reset:
        try:  # linger 0: close() sends a RST instead of a FIN
            sock = transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except (AttributeError, OSError):
            pass
        transport.abort()
    else:
        transport.close()
    receive = _RECEIVE.get()
    if receive is not None:  # the server marks the request disconnected: it will send nothing more
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_until_disconnect(receive), DISCONNECT_WAIT_S)


async def reset_connection(send: Send) -> None:
    """Reset the connection (TCP RST) without a response byte (`ConnectionResetError` without a
    transport)."""
    transport = transport_of(send)
    if transport is None:
        raise ConnectionResetError("emulated connection reset")
    await _closed(transport, reset=True)


async def close_connection(send: Send) -> None:
    """Close the connection (FIN) whatever was sent; without a transport, return and let the server end
    the unfinished response."""
    transport = transport_of(send)
    if transport is not None and not transport.is_closing():
        await _closed(transport, reset=False)


async def hold_connection(send: Send, seconds: float) -> None:
    """Read nothing more and answer nothing for `seconds` (less if the client hangs up), then close the
    connection without a response byte."""
    if await pause(seconds):
        return
    transport = transport_of(send)
    if transport is None:
        raise ConnectionResetError("emulated connection closed without a response")
    await _closed(transport, reset=False)


async def lifespan(receive: Receive, send: Send) -> None:
    """Acknowledge start-up and shutdown; the emulators hold no resources."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
