"""Relaying a stream to the client: the provider's events as they arrive, one write per upstream read, the
cost spliced into the usage chunk, a client that leaves cancelling the upstream request, and a stream that
breaks or ends early closed with an error event the SDKs raise.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import Receive

from byokgate.cache.recording import StreamRecord
from byokgate.providers.anthropic_stream import anthropic_error_event
from byokgate.providers.translation import ChatStream
from byokgate.providers.translation import error_event as openai_error_event
from byokgate.proxy.cached import SSE_HEADERS
from byokgate.proxy.costs import Coster, usage_chunk_with_cost
from byokgate.proxy.exchange import Exchange, Responded, disconnected, passed_headers
from byokgate.transport import UpstreamStream, UpstreamUnreachableError


async def relay_stream(
    coster: Coster,
    receive: Receive,
    send: Responded,
    exchange: Exchange,
    response: UpstreamStream,
    relay: ChatStream,
    usage_chunk: bool = False,
    record: StreamRecord | None = None,
) -> None:
    """Relay a stream; ``usage_chunk``: the client asked for OpenAI's usage chunk (it gets the cost);
    ``record``: a streamed cache miss, which keeps what the client is sent."""
    exchange.upstream_done()  # time to headers
    headers = [*SSE_HEADERS, *passed_headers(response), *exchange.gateway_headers()]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    exchange.status = 200
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
        await _forward(coster, send, response, relay, exchange, usage_chunk, record)
    except asyncio.CancelledError:
        if not watcher.done() or watcher.cancelled():
            raise  # cancelled from outside (shutdown), not by the client leaving
        current.uncancel()
        exchange.status, exchange.error_code = 499, "client_closed_request"
    finally:
        forwarding[0] = False
        watcher.cancel()
    if relay.tally.usage:
        exchange.usage = relay.tally.usage
        if exchange.cost_micro is None and exchange.route is not None:
            exchange.cost_micro = coster.cost(exchange.route, exchange.usage)
    if relay.tally.error is not None and exchange.status == 200:
        exchange.status, exchange.error_code = 502, "upstream_stream_error"


async def _forward(
    coster: Coster,
    send: Responded,
    response: UpstreamStream,
    relay: ChatStream,
    exchange: Exchange,
    usage_chunk: bool,
    record: StreamRecord | None,
) -> None:
    error_event = anthropic_error_event if exchange.anthropic_format else openai_error_event
    costing = usage_chunk  # until the usage chunk has been given its cost
    try:
        async for chunk in response.chunks():
            events = relay.feed(chunk)
            if costing and relay.tally.usage is not None and events:
                costing = not _add_cost(coster, events, exchange, relay.tally.usage)
            if events:  # everything that arrived together leaves together: one write, not one per event
                body = events[0] if len(events) == 1 else b"".join(events)
                if record is not None:
                    record.add(body)
                await send({"type": "http.response.body", "body": body, "more_body": True})
            if relay.tally.error is not None:
                break
        else:
            closing = relay.finish()
            if costing and relay.tally.usage is not None and closing:
                _add_cost(coster, closing, exchange, relay.tally.usage)
            if closing:
                body = b"".join(closing)
                if record is not None:
                    record.add(body)
                await send({"type": "http.response.body", "body": body, "more_body": True})
    except UpstreamUnreachableError as exc:
        relay.tally.error = {"message": str(exc)}
        await send(
            {
                "type": "http.response.body",
                "body": error_event(f"Upstream stream broke: {exc}"),
                "more_body": True,
            }
        )
    if not relay.tally.done and relay.tally.error is None:
        relay.tally.error = {"message": "stream ended without [DONE]"}
        await send(
            {
                "type": "http.response.body",
                "body": error_event("The upstream stream ended early."),
                "more_body": True,
            }
        )
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def _add_cost(coster: Coster, events: list[bytes], exchange: Exchange, usage: dict[str, Any]) -> bool:
    """Put the cost into the usage chunk among ``events`` (in place); False when it is not there yet."""
    assert exchange.route is not None
    for index in range(len(events) - 1, -1, -1):
        if b'"usage":{' in events[index] or b'"usage": {' in events[index]:
            exchange.cost_micro = coster.cost(exchange.route, usage)
            if exchange.cost_micro is None:
                return True  # no price: the chunk goes as it is
            costed = usage_chunk_with_cost(events[index], exchange.cost_micro)
            if costed is not None:
                events[index] = costed
                return True
    return False
