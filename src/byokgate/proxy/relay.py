"""Relaying a stream to the client: the upstream's events as they arrive, one write per upstream read, the
cost spliced into the usage chunk, a client that leaves cancelling the upstream request, and a stream that
breaks or ends early closed with the door's error event. While another attempt may follow, the stream is
held until its first content: until then a failure is the attempt's, and the client has seen nothing.
With a transcript (``continuation.py``) a stream that breaks after its first content may be left open for
a fallback to carry on, and a continuation is relayed into a response already begun.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import Receive

from byokgate.asgi import SSE_HEADERS, Headers
from byokgate.cache.recording import StreamRecord
from byokgate.domain.sse import END, data_of, frame_json
from byokgate.domain.stream import EventStream
from byokgate.proxy.continuation import Transcript
from byokgate.proxy.costs import Coster
from byokgate.proxy.errors import BadGatewayError
from byokgate.proxy.exchange import Responded, disconnected
from byokgate.routing.policy import Route
from byokgate.transport import UpstreamUnreachableError


@dataclass(slots=True)
class Relayed:
    """How a relayed stream ended: its status for the record (200, 499 client gone, 502 broken) and the
    cost spliced into its usage chunk, if it was."""

    status: int = 200
    error_code: str | None = None
    cost_micro: int | None = None
    costed: dict[str, Any] | None = None  # the usage ``cost_micro`` was computed from
    broken: str | None = None  # the stream broke and was left open for a continuation: why
    first_token: float | None = None  # perf_counter() when the first content left for the client


@dataclass(frozen=True, slots=True)
class Pricing:
    """What splicing the cost into the usage chunk needs (None in ``relay``: the client gets no usage)."""

    coster: Coster
    route: Route


async def relay(
    send: Responded,
    receive: Receive,
    chunks: AsyncIterator[bytes],
    events: EventStream,
    headers: Headers,
    error_event: Callable[[str], bytes],
    *,
    pricing: Pricing | None = None,
    record: StreamRecord | None = None,
    hold: Callable[[], None] | None = None,
    transcript: Transcript | None = None,
    started: bool = False,
) -> Relayed:
    """Relay a stream; ``pricing``: the client asked for the usage chunk (it gets the cost); ``record``: a
    streamed cache miss, which keeps what the client is sent; ``hold``: another attempt may follow, so
    nothing is sent until the first content has come (then ``hold`` is called), and a stream that fails
    before it raises the attempt's error instead (the client has seen nothing of it); ``transcript``: what
    is sent is written down, and a break after content the transcript can carry on leaves the response
    open (``Relayed.broken``); ``started``: the response has begun (a continuation: no head)."""
    relayed = Relayed()
    # Watch for the client leaving while this task forwards; a disconnect cancels the forwarding,
    # which closes the upstream response and so cancels the upstream request.
    current = asyncio.current_task()
    assert current is not None
    forwarding = [True]

    def client_left(watcher: asyncio.Future[None]) -> None:
        if forwarding[0] and not watcher.cancelled():
            current.cancel()

    watcher = asyncio.ensure_future(disconnected(receive))
    watcher.add_done_callback(client_left)
    try:
        iterator = aiter(chunks)
        first: list[bytes] = []
        ended = False
        if hold is not None:
            first, ended = await _first_content(iterator, events)
            hold()
        if not started:
            await send({"type": "http.response.start", "status": 200, "headers": [*SSE_HEADERS, *headers]})
        ends = _Ends(error_event, transcript)
        await _forward(send, iterator, (first, ended), events, ends, pricing, record, relayed)
    except asyncio.CancelledError:
        if not watcher.done() or watcher.cancelled():
            raise  # cancelled from outside (shutdown), not by the client leaving
        current.uncancel()
        relayed.status, relayed.error_code = 499, "client_closed_request"
    finally:
        forwarding[0] = False
        watcher.cancel()
    if events.tally.error is not None and relayed.status == 200:
        relayed.status, relayed.error_code = 502, "upstream_stream_error"
    return relayed


async def _first_content(chunks: AsyncIterator[bytes], events: EventStream) -> tuple[list[bytes], bool]:
    """Read until the first content: the events so far (sent with it), and whether the body has ended (a
    whole short answer came at once)."""
    tally = events.tally
    pending: list[bytes] = []
    async for chunk in chunks:
        pending.extend(events.feed(chunk))
        if tally.error is not None:
            message = str(tally.error.get("message") or "an error event")
            raise BadGatewayError(
                f"The upstream stream failed before its first token: {message}", code="upstream_stream_error"
            )
        if tally.content:
            return pending, False
    pending.extend(events.finish())
    if tally.done:
        return pending, True
    raise BadGatewayError("The upstream stream ended before its first token.", code="upstream_stream_error")


async def _forward(
    send: Responded,
    chunks: AsyncIterator[bytes],
    start: tuple[list[bytes], bool],
    events: EventStream,
    ends: _Ends,
    pricing: Pricing | None,
    record: StreamRecord | None,
    relayed: Relayed,
) -> None:
    """Send ``start`` (events held back so far, and whether the body had ended), then the rest as it comes;
    the upstream body is read to its end (so that its connection is reused)."""
    tally = events.tally
    costing = pricing is not None  # until the usage chunk has been given its cost
    out, ended = start
    try:
        while True:
            if costing and tally.usage is not None and out:
                costing = not _add_cost(out, tally.usage, pricing, relayed)
            if out:  # everything that arrived together leaves together: one write, not one per event
                if relayed.first_token is None and tally.content:
                    relayed.first_token = time.perf_counter()
                body = out[0] if len(out) == 1 else b"".join(out)
                if record is not None:
                    record.add(body)
                if ends.transcript is not None:
                    ends.transcript.add(out)
                await send({"type": "http.response.body", "body": body, "more_body": True})
            if ended or tally.error is not None:
                break
            try:
                chunk = await chunks.__anext__()
            except StopAsyncIteration:
                ended, out = True, events.finish()
            else:
                out = events.feed(chunk)
    except UpstreamUnreachableError as exc:
        tally.error = {"message": str(exc)}
        if ends.broke(f"Upstream stream broke: {exc}", relayed):
            return
        await end_broken(send, ends.error_event, f"Upstream stream broke: {exc}")
        return
    if not tally.done and tally.error is None:
        tally.error = {"message": "stream ended without its end marker"}
        if ends.broke("The upstream stream ended early.", relayed):
            return
        await end_broken(send, ends.error_event, "The upstream stream ended early.")
        return
    await send({"type": "http.response.body", "body": b"", "more_body": False})


@dataclass(slots=True)  # made for every stream: a frozen one costs ~0.5 µs more
class _Ends:
    """How a broken stream ends: with the door's error event, or left open for a continuation."""

    error_event: Callable[[str], bytes]
    transcript: Transcript | None

    def broke(self, message: str, relayed: Relayed) -> bool:
        """Leave the response open for a continuation (True), when the transcript can carry it on."""
        if self.transcript is None or not self.transcript.continuable:
            return False
        relayed.broken = message
        return True


async def end_broken(send: Responded, error_event: Callable[[str], bytes], message: str) -> None:
    """End a stream the client has begun to receive with the door's error event (the SDK raises it)."""
    await send({"type": "http.response.body", "body": error_event(message), "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def _add_cost(events: list[bytes], usage: dict[str, Any], pricing: Pricing | None, relayed: Relayed) -> bool:
    """Put the cost into the usage chunk among ``events`` (in place); False when it is not there yet."""
    assert pricing is not None
    for index in range(len(events) - 1, -1, -1):
        if b'"usage":{' in events[index] or b'"usage": {' in events[index]:
            relayed.cost_micro, relayed.costed = pricing.coster.cost(pricing.route, usage), usage
            if relayed.cost_micro is None:
                return True  # no price: the chunk goes as it is
            costed = usage_chunk_with_cost(events[index], relayed.cost_micro)
            if costed is not None:
                events[index] = costed
                return True
    return False


def usage_chunk_with_cost(event: bytes, cost_micro: int) -> bytes | None:
    """``event`` with ``usage.cost`` (USD) added when it carries the final usage (a chunk of its own, or
    the finishing chunk), else None."""
    data = data_of(event.removesuffix(END))
    if b'"usage"' not in data or not data.startswith(b"{"):
        return None
    try:
        chunk = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    usage = chunk.get("usage") if isinstance(chunk, dict) else None
    if not isinstance(usage, dict):
        return None  # a content chunk saying "usage": null
    if any(isinstance(c, dict) and not c.get("finish_reason") for c in chunk.get("choices") or ()):
        return None  # the usage so far, on a content chunk (where a provider sends that): not final
    usage["cost"] = cost_micro / 1_000_000
    return frame_json(chunk)
