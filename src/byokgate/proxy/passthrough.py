"""An upstream answer relayed as it is: the native provider routes' and the media endpoints' (no
translation, no model of the answer's shape beyond reading its usage).

A JSON answer of a known size (up to 8 MiB) is read whole, so that its usage, and so its cost, is in the
gateway's headers; anything else (a stream, audio) is relayed chunk by chunk as it arrives, a server-sent
event stream's events read on the way for their usage. ``note`` is told each parsed answer or event.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import Send

from byokgate.domain.sse import EventSplitter, data_of
from byokgate.domain.upstream import UpstreamRequest
from byokgate.providers.base import ProviderAdapter
from byokgate.providers.registry import ProviderRegistry
from byokgate.proxy.errors import BadGatewayError, GatewayTimeoutError
from byokgate.proxy.exchange import Exchange
from byokgate.snapshot.credentials import CredentialOpener
from byokgate.snapshot.holder import SnapshotHolder
from byokgate.transport import Transport, UpstreamTimeoutError, UpstreamUnreachableError

_NOT_RETURNED = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "set-cookie", "proxy-authenticate"}
)
_READ_WHOLE = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Upstream:
    """What a relay as it is needs to reach a provider: the snapshot (its projects' keys), the key opener,
    the adapters, the transport and each provider's base URL in force."""

    snapshot: SnapshotHolder
    credentials: CredentialOpener
    registry: ProviderRegistry
    transport: Transport
    base_urls: Mapping[str, str]


async def relay_answer(
    upstream: Upstream,
    send: Send,
    exchange: Exchange,
    adapter: ProviderAdapter,
    request: UpstreamRequest,
    note: Callable[[dict[str, Any]], None],
) -> None:
    exchange.upstream_started = time.perf_counter()
    try:
        async with upstream.transport.open(request) as response:
            exchange.first_byte = time.perf_counter()
            exchange.status = response.status
            exchange.upstream_request_id = next(
                (response.headers.get(n) for n in adapter.request_id_headers if response.headers.get(n)), None
            )
            returned = [
                (name.encode("latin-1"), value.encode("latin-1"))
                for name, value in response.headers.items()
                if name not in _NOT_RETURNED
            ]
            kind = response.headers.get("content-type") or ""
            size = response.headers.get("content-length")
            if "json" in kind and size is not None and size.isdigit() and int(size) <= _READ_WHOLE:
                answer = await response.read()
                exchange.upstream_done()
                _noted(note, answer)
                head = [*returned, *exchange.gateway_headers(), (b"content-length", b"%d" % len(answer))]
                await send({"type": "http.response.start", "status": response.status, "headers": head})
                await send({"type": "http.response.body", "body": answer, "more_body": False})
                return
            head = [*returned, *exchange.gateway_headers()]
            await send({"type": "http.response.start", "status": response.status, "headers": head})
            events = EventSplitter() if "event-stream" in kind else None
            async for chunk in response.chunks():
                if exchange.first_token is None:
                    exchange.first_token = time.perf_counter()
                if events is not None:
                    for event in events.feed(chunk):
                        _noted(note, data_of(event))
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            exchange.upstream_done()
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    except UpstreamTimeoutError as exc:
        exchange.upstream_done()
        raise GatewayTimeoutError(f"{adapter.title} did not answer in time: {exc}.") from None
    except UpstreamUnreachableError as exc:
        exchange.upstream_done()
        raise BadGatewayError(f"Could not reach {adapter.title}: {exc}") from None


def merged_usage(known: dict[str, Any], usage: dict[str, Any]) -> dict[str, Any]:
    """Usage read so far with more of it (a stream's events each carry part: the input, then the output)."""
    merged = {**known, **{name: value for name, value in usage.items() if value}}
    prompt, completion = merged.get("prompt_tokens"), merged.get("completion_tokens")
    if isinstance(prompt, int) or isinstance(completion, int):
        merged["total_tokens"] = (prompt or 0) + (completion or 0)
    return merged


def _noted(note: Callable[[dict[str, Any]], None], raw: bytes) -> None:
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return
    if isinstance(parsed, dict):
        note(parsed)
