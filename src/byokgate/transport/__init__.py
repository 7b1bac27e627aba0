"""The only code that talks to upstream providers: a keep-alive HTTP/1.1 client, timeouts, cancellation.

Built on asyncio protocols and the llhttp parser (``httptools``) rather than a general-purpose client,
because this is the hot path: a pooled request costs a few tens of microseconds here against several
hundred in httpx. It does exactly what a provider call needs and no more: HTTP/1.1 over TCP or TLS,
Content-Length request bodies, Content-Length, chunked or until-close response bodies, a LIFO pool of idle
connections per origin, a connect timeout, a read timeout that bounds the wait for the first byte and every
later one, and an optional total timeout for the whole exchange. Closing a response that was not read to
the end closes its connection, which is how the upstream request is cancelled when a client goes away.
The connection and response reading are in ``http1.py``; the pool and the client are here.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from urllib.parse import urlsplit

from byokgate import __version__
from byokgate.domain.upstream import UpstreamRequest, UpstreamResponse
from byokgate.transport.http1 import (
    Connection,
    NothingReceivedError,
    Origin,
    ResponseHeaders,
    ResponseReader,
    UpstreamCutoffError,
    UpstreamStream,
    UpstreamTimeoutError,
    UpstreamUnreachableError,
)

__all__ = [
    "ResponseHeaders",
    "Transport",
    "UpstreamCutoffError",
    "UpstreamStream",
    "UpstreamTimeoutError",
    "UpstreamUnreachableError",
]

_CONNECT_TIMEOUT_S = 10.0
# A reused connection closed within this of sending, with nothing received, was stale (closed by the server
# while idle): the request is sent again on a new one. The race shows within a round trip.
_STALE_CLOSE_S = 1.0
_IDLE_EXPIRY_S = 15.0
_MAX_IDLE_PER_ORIGIN = 256
_USER_AGENT = f"byokgate/{__version__}"


class Transport:
    """A pool of keep-alive connections per origin (scheme, host, port)."""

    def __init__(
        self,
        *,
        timeout_s: float,
        connect_timeout_s: float = _CONNECT_TIMEOUT_S,
        total_timeout_s: float | None = None,
        ssl_context: ssl.SSLContext | None = None,
        idle_expiry_s: float = _IDLE_EXPIRY_S,
        max_idle_per_origin: int = _MAX_IDLE_PER_ORIGIN,
    ) -> None:
        """``timeout_s`` bounds the wait for the first byte and for every next one; ``connect_timeout_s``
        the TCP and TLS set-up; ``total_timeout_s`` (if set) the whole exchange, body included."""
        self._timeout_s = timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._total_timeout_s = total_timeout_s
        self._ssl_context = ssl_context
        self._idle_expiry_s = idle_expiry_s
        self._max_idle = max_idle_per_origin
        self._idle: dict[Origin, list[Connection]] = {}
        self._open: set[Connection] = set()  # every live connection, idle or busy, for a clean shutdown
        self._targets: dict[str, tuple[Origin, str, str]] = {}
        self._closed = False

    async def send(self, request: UpstreamRequest, *, timeout_s: float | None = None) -> UpstreamResponse:
        """Send ``request`` and read the whole answer."""
        async with self.open(request, timeout_s=timeout_s) as response:
            body = await response.read()
        return UpstreamResponse(response.status, response.headers.as_dict(), body)

    @asynccontextmanager
    async def open(
        self,
        request: UpstreamRequest,
        *,
        timeout_s: float | None = None,
        deadline: float | None = None,
        cutoff: float | None = None,
    ) -> AsyncIterator[UpstreamStream]:
        """Send ``request`` and yield the response before its body is read; always releases it.

        ``deadline`` (loop time) ends the exchange, like the total timeout; ``cutoff`` (loop time) is when
        the caller gives up waiting for the next byte (until ``UpstreamStream.lift_cutoff``): both raise
        ``UpstreamTimeoutError``, the cutoff as its ``UpstreamCutoffError``."""
        if self._closed:
            raise UpstreamUnreachableError("the upstream client is closed")
        timeout = self._timeout_s if timeout_s is None else timeout_s
        origin, target, host_header = self._target(request.url)
        head = _request_head(request, target, host_header)
        loop = asyncio.get_running_loop()
        if self._total_timeout_s is not None:
            total = loop.time() + self._total_timeout_s
            deadline = total if deadline is None else min(deadline, total)
        exchange = await self._exchange(loop, origin, head, request.body, timeout, deadline, cutoff)
        connection = exchange.connection
        assert connection is not None
        try:
            yield UpstreamStream(exchange)
        finally:
            connection.detach()
            if exchange.complete and exchange.keep_alive and not connection.closed and not self._closed:
                self._release(connection)
            else:  # not read to the end (or not reusable): closing it cancels the upstream request
                connection.close()

    async def _exchange(
        self,
        loop: asyncio.AbstractEventLoop,
        origin: Origin,
        head: bytes,
        body: bytes | None,
        timeout_s: float,
        deadline: float | None,
        cutoff: float | None,
    ) -> ResponseReader:
        for _attempt in range(2):
            connection = self._acquire(origin)
            if connection is None:
                connection = await self._connect(loop, origin, timeout_s)
            exchange = ResponseReader(loop, origin[1], timeout_s, deadline)
            exchange.cutoff = cutoff
            sent = loop.time()
            try:
                await connection.send(head, body, exchange)
                await exchange.wait_headers()
                return exchange
            except NothingReceivedError:
                connection.close()
                if not connection.reused or loop.time() - sent > _STALE_CLOSE_S:
                    raise
                # The server closed an idle keep-alive connection as we sent: retry once on a new one.
                # (A close that comes later is a provider that was silent on our request: not resent.)
            except BaseException:
                connection.close()
                raise
        raise UpstreamUnreachableError(f"{origin[1]} closed the connection without answering")

    async def _connect(self, loop: asyncio.AbstractEventLoop, origin: Origin, timeout_s: float) -> Connection:
        scheme, host, port = origin
        context: ssl.SSLContext | None = None
        if scheme == "https":
            context = self._ssl_context or _default_ssl_context()
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(
                    lambda: Connection(loop, origin),
                    host,
                    port,
                    ssl=context,
                    server_hostname=host if context is not None else None,
                ),
                timeout=min(timeout_s, self._connect_timeout_s),
            )
        except TimeoutError:
            raise UpstreamTimeoutError(f"timed out connecting to {host}") from None
        except (OSError, ssl.SSLError) as exc:
            raise UpstreamUnreachableError(f"could not reach {host}: {type(exc).__name__}") from None
        self._open.add(connection)
        connection.on_close = self._open.discard
        return connection

    def _acquire(self, origin: Origin) -> Connection | None:
        idle = self._idle.get(origin)
        if not idle:
            return None
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            if connection.closed or (connection.transport is not None and connection.transport.is_closing()):
                continue
            if now - connection.idle_since > self._idle_expiry_s:
                connection.close()
                continue
            connection.reused = True
            return connection
        return None

    def _release(self, connection: Connection) -> None:
        idle = self._idle.setdefault(connection.origin, [])
        if len(idle) >= self._max_idle:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        idle.append(connection)

    def _target(self, url: str) -> tuple[Origin, str, str]:
        cached = self._targets.get(url)
        if cached is not None:
            return cached
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise UpstreamUnreachableError(f"unsupported upstream URL scheme {scheme!r}")
        default_port = 443 if scheme == "https" else 80
        port = parts.port or default_port
        host = parts.hostname
        host_header = host if port == default_port else f"{host}:{port}"
        if ":" in host:  # an IPv6 literal
            host_header = f"[{host}]" if port == default_port else f"[{host}]:{port}"
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        resolved = ((scheme, host, port), target, host_header)
        if len(self._targets) < 4096:  # a handful of provider endpoints in practice
            self._targets[url] = resolved
        return resolved

    async def aclose(self) -> None:
        """Close every connection, busy ones included, and let the loop finish closing them."""
        self._closed = True
        for connection in list(self._open):
            connection.close()
        self._idle.clear()
        await asyncio.sleep(0)

    async def __aenter__(self) -> Transport:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def _request_head(request: UpstreamRequest, target: str, host_header: str) -> bytes:
    lines = [f"{request.method} {target} HTTP/1.1", f"host: {host_header}"]
    seen = set()
    for name, value in request.headers.items():
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
            # Never echo the value: it may be a provider key.
            raise UpstreamUnreachableError(f"refusing to send a malformed {name!r} header")
        lowered = name.lower()
        if lowered in ("host", "content-length", "transfer-encoding", "connection"):
            continue
        seen.add(lowered)
        lines.append(f"{name}: {value}")
    if "user-agent" not in seen:
        lines.append(f"user-agent: {_USER_AGENT}")
    if "accept-encoding" not in seen:
        lines.append("accept-encoding: identity")  # bodies are relayed byte for byte
    if request.body is not None or request.method in ("POST", "PUT", "PATCH"):
        lines.append(f"content-length: {len(request.body or b'')}")
    try:
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    except UnicodeEncodeError:
        raise UpstreamUnreachableError("refusing to send a header that is not Latin-1 text") from None


_ssl_default: ssl.SSLContext | None = None


def _default_ssl_context() -> ssl.SSLContext:
    global _ssl_default
    if _ssl_default is None:
        _ssl_default = ssl.create_default_context()
    return _ssl_default
