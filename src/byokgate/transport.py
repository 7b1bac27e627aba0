"""The only module that talks to upstream providers: a keep-alive HTTP/1.1 client, timeouts, cancellation.

Built on asyncio protocols and the llhttp parser (``httptools``) rather than a general-purpose client,
because this is the hot path: a pooled request costs a few tens of microseconds here against several
hundred in httpx. It does exactly what a provider call needs and no more: HTTP/1.1 over TCP or TLS,
Content-Length request bodies, Content-Length, chunked or until-close response bodies, a LIFO pool of idle
connections per origin, a connect timeout, a read timeout that bounds the wait for the first byte and every
later one, and an optional total timeout for the whole exchange. Closing a response that was not read to
the end closes its connection, which is how the upstream request is cancelled when a client goes away.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import cast
from urllib.parse import urlsplit

import httptools

from byokgate import __version__
from byokgate.domain.upstream import UpstreamRequest, UpstreamResponse

_CONNECT_TIMEOUT_S = 10.0
_IDLE_EXPIRY_S = 15.0
_MAX_IDLE_PER_ORIGIN = 256
_READ_HIGH_WATER = 1024 * 1024
_READ_LOW_WATER = 256 * 1024
_USER_AGENT = f"byokgate/{__version__}"


class UpstreamUnreachableError(Exception):
    """Connect failure, broken connection or unparseable answer; the message names the host, never headers."""


class UpstreamTimeoutError(UpstreamUnreachableError):
    """No answer (or no next byte) within the timeout."""


class _NothingReceivedError(UpstreamUnreachableError):
    """The connection closed before a single response byte: retryable once on a reused connection."""


class ResponseHeaders:
    """Response header fields in arrival order, names lower-cased."""

    __slots__ = ("_fields",)

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self._fields = fields

    def get(self, name: str, default: str | None = None) -> str | None:
        name = name.lower()
        for key, value in self._fields:
            if key == name:
                return value
        return default

    def items(self) -> Iterator[tuple[str, str]]:
        return iter(self._fields)

    def as_dict(self) -> dict[str, str]:
        """Last value wins for repeated names (as in a plain mapping)."""
        return dict(self._fields)


_Origin = tuple[str, str, int]  # scheme, host, port


class _Connection(asyncio.Protocol):
    """One keep-alive connection; carries at most one exchange at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop, origin: _Origin) -> None:
        self.loop = loop
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self.reused = False
        self._exchange: _Exchange | None = None
        self._write_paused: asyncio.Future[None] | None = None
        self.on_close: Callable[[_Connection], None] | None = None

    # asyncio.Protocol ------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it

    def data_received(self, data: bytes) -> None:
        exchange = self._exchange
        if exchange is None:  # bytes nobody asked for: the connection is no longer trustworthy
            self.close()
            return
        exchange.feed(data)

    def eof_received(self) -> bool | None:
        return False  # close the transport; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.on_close is not None:
            self.on_close(self)
        if self._exchange is not None:
            self._exchange.connection_lost()
        if self._write_paused is not None and not self._write_paused.done():
            self._write_paused.set_result(None)

    def pause_writing(self) -> None:
        if self._write_paused is None or self._write_paused.done():
            self._write_paused = self.loop.create_future()

    def resume_writing(self) -> None:
        if self._write_paused is not None and not self._write_paused.done():
            self._write_paused.set_result(None)

    # used by the client ----------------------------------------------------------------------------

    async def send(self, head: bytes, body: bytes | None, exchange: _Exchange) -> None:
        assert self.transport is not None
        self._exchange = exchange
        exchange.connection = self
        if body:
            self.transport.writelines((head, body))
        else:
            self.transport.write(head)
        if self._write_paused is not None and not self._write_paused.done():
            await self._write_paused

    def pause_reading(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.resume_reading()

    def detach(self) -> None:
        self._exchange = None

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class _Exchange:
    """One response being received: parser callbacks in, headers and body chunks out."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, host: str, read_timeout_s: float, deadline: float | None
    ) -> None:
        self.loop = loop
        self.host = host
        self.read_timeout_s = read_timeout_s
        self.deadline = deadline  # loop time by which the whole exchange must be over
        self.connection: _Connection | None = None
        # The parser holds this exchange's bound callbacks: a reference cycle, broken when the response is
        # over (complete or failed) so that the exchange is freed at once, not by the cyclic collector.
        self.parser: httptools.HttpResponseParser | None = httptools.HttpResponseParser(self)
        self.status = 0
        self.header_fields: list[tuple[str, str]] = []
        self.headers_done = False
        self.complete = False
        self.keep_alive = False
        self.received_any = False
        self.error: UpstreamUnreachableError | None = None
        self._framed = False  # Content-Length or chunked; otherwise the body runs until close
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._paused = False
        self._waiter: asyncio.Future[None] | None = None

    # httptools callbacks ---------------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        if key == "content-length" or (key == "transfer-encoding" and b"chunked" in value.lower()):
            self._framed = True
        self.header_fields.append((key, value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        assert self.parser is not None  # called by the parser
        self.status = self.parser.get_status_code()
        if 100 <= self.status < 200:  # an interim response: wait for the real one
            self.header_fields = []
            self._framed = False
            return
        self.headers_done = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > _READ_HIGH_WATER and not self._paused and self.connection is not None:
            self._paused = True
            self.connection.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if not self.headers_done:  # the end of an interim response
            self.parser = httptools.HttpResponseParser(self)
            return
        assert self.parser is not None  # called by the parser (which stays alive until its feed returns)
        self.complete = True
        self.keep_alive = self._framed and self.parser.should_keep_alive()
        self.parser = None
        self._wake()

    # fed by the connection -------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        self.received_any = True
        if self.complete or self.error is not None:
            if self.connection is not None:  # data after the end of the message
                self.connection.close()
            return
        if self.parser is None:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._fail(UpstreamUnreachableError(f"unparseable HTTP response from {self.host}"))
            if self.connection is not None:
                self.connection.close()

    def connection_lost(self) -> None:
        if self.complete:
            return
        if self.headers_done and not self._framed:
            self.complete = True  # a body delimited by the end of the connection
            self._wake()
        elif not self.received_any:
            self._fail(_NothingReceivedError(f"{self.host} closed the connection without answering"))
        else:
            self._fail(UpstreamUnreachableError(f"{self.host} closed the connection mid-response"))

    def _fail(self, error: UpstreamUnreachableError) -> None:
        if self.error is None:
            self.error = error
        self.parser = None  # nothing more is parsed
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # read by the caller ----------------------------------------------------------------------------

    async def _wait(self, what: str) -> None:
        waiter = self._waiter = self.loop.create_future()
        wait_s, total = self.read_timeout_s, False
        if self.deadline is not None and self.deadline - self.loop.time() < wait_s:
            wait_s, total = max(self.deadline - self.loop.time(), 0.0), True
        timer = self.loop.call_later(wait_s, _expire, waiter)
        try:
            await waiter
        except TimeoutError:
            if total:
                raise UpstreamTimeoutError(f"{self.host} exceeded the total time allowed") from None
            raise UpstreamTimeoutError(f"timed out waiting for {what} from {self.host}") from None
        finally:
            timer.cancel()
            self._waiter = None

    async def wait_headers(self) -> None:
        while not self.headers_done:
            if self.error is not None:
                raise self.error
            await self._wait("a response")

    async def next_chunk(self) -> bytes | None:
        """The next piece of the body (everything buffered, joined), or None at its end."""
        while True:
            if self._chunks:
                if len(self._chunks) == 1:
                    data = self._chunks.popleft()
                else:
                    data = b"".join(self._chunks)
                    self._chunks.clear()
                self._buffered = 0
                if self._paused and self.connection is not None:
                    self._paused = False
                    self.connection.resume_reading()
                return data
            if self.complete:
                return None
            if self.error is not None:
                raise self.error
            await self._wait("the next byte")


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class UpstreamStream:
    """An upstream response whose body is read as it arrives."""

    __slots__ = ("_exchange", "headers", "status")

    def __init__(self, exchange: _Exchange) -> None:
        self.status = exchange.status
        self.headers = ResponseHeaders(exchange.header_fields)
        self._exchange = exchange

    async def chunks(self) -> AsyncIterator[bytes]:
        while (chunk := await self._exchange.next_chunk()) is not None:
            yield chunk

    async def read(self) -> bytes:
        parts = []
        while (chunk := await self._exchange.next_chunk()) is not None:
            parts.append(chunk)
        return parts[0] if len(parts) == 1 else b"".join(parts)


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
        self._idle: dict[_Origin, list[_Connection]] = {}
        self._open: set[_Connection] = set()  # every live connection, idle or busy, for a clean shutdown
        self._targets: dict[str, tuple[_Origin, str, str]] = {}
        self._closed = False

    async def send(self, request: UpstreamRequest, *, timeout_s: float | None = None) -> UpstreamResponse:
        """Send ``request`` and read the whole answer."""
        async with self.open(request, timeout_s=timeout_s) as response:
            body = await response.read()
        return UpstreamResponse(response.status, response.headers.as_dict(), body)

    @asynccontextmanager
    async def open(
        self, request: UpstreamRequest, *, timeout_s: float | None = None
    ) -> AsyncIterator[UpstreamStream]:
        """Send ``request`` and yield the response before its body is read; always releases it."""
        if self._closed:
            raise UpstreamUnreachableError("the upstream client is closed")
        timeout = self._timeout_s if timeout_s is None else timeout_s
        origin, target, host_header = self._target(request.url)
        head = _request_head(request, target, host_header)
        loop = asyncio.get_running_loop()
        deadline = None if self._total_timeout_s is None else loop.time() + self._total_timeout_s
        exchange = await self._exchange(loop, origin, head, request.body, timeout, deadline)
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
        origin: _Origin,
        head: bytes,
        body: bytes | None,
        timeout_s: float,
        deadline: float | None,
    ) -> _Exchange:
        for _attempt in range(2):
            connection = self._acquire(origin)
            if connection is None:
                connection = await self._connect(loop, origin, timeout_s)
            exchange = _Exchange(loop, origin[1], timeout_s, deadline)
            try:
                await connection.send(head, body, exchange)
                await exchange.wait_headers()
                return exchange
            except _NothingReceivedError:
                connection.close()
                if not connection.reused:
                    raise
                # The server closed an idle keep-alive connection as we sent: retry once on a new one.
            except BaseException:
                connection.close()
                raise
        raise UpstreamUnreachableError(f"{origin[1]} closed the connection without answering")

    async def _connect(
        self, loop: asyncio.AbstractEventLoop, origin: _Origin, timeout_s: float
    ) -> _Connection:
        scheme, host, port = origin
        context: ssl.SSLContext | None = None
        if scheme == "https":
            context = self._ssl_context or _default_ssl_context()
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _Connection(loop, origin),
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

    def _acquire(self, origin: _Origin) -> _Connection | None:
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

    def _release(self, connection: _Connection) -> None:
        idle = self._idle.setdefault(connection.origin, [])
        if len(idle) >= self._max_idle:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        idle.append(connection)

    def _target(self, url: str) -> tuple[_Origin, str, str]:
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
