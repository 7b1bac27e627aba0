"""The HTTP/1.1 side of the transport: one keep-alive connection (an asyncio protocol), one response being
received on it (the llhttp parser's callbacks, back-pressure, read timeouts), and what callers read.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from typing import cast

import httptools

_READ_HIGH_WATER = 1024 * 1024


class UpstreamUnreachableError(Exception):
    """Connect failure, broken connection or unparseable answer; the message names the host, never headers."""


class UpstreamTimeoutError(UpstreamUnreachableError):
    """No answer (or no next byte) within the timeout."""


class UpstreamCutoffError(UpstreamTimeoutError):
    """The caller's own cutoff passed (a first token that did not come in time; another attempt may)."""


class NothingReceivedError(UpstreamUnreachableError):
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


Origin = tuple[str, str, int]  # scheme, host, port


class Connection(asyncio.Protocol):
    """One keep-alive connection; carries at most one exchange at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop, origin: Origin) -> None:
        self.loop = loop
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self.reused = False
        self._exchange: ResponseReader | None = None
        self._write_paused: asyncio.Future[None] | None = None
        self.on_close: Callable[[Connection], None] | None = None

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

    async def send(self, head: bytes, body: bytes | None, exchange: ResponseReader) -> None:
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


class ResponseReader:
    """One response being received: parser callbacks in, headers and body chunks out."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, host: str, read_timeout_s: float, deadline: float | None
    ) -> None:
        self.loop = loop
        self.host = host
        self.read_timeout_s = read_timeout_s
        self.deadline = deadline  # loop time by which the whole exchange must be over
        self.cutoff: float | None = None  # loop time by which the caller wants a next byte (its first token)
        self.connection: Connection | None = None
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
            self._fail(NothingReceivedError(f"{self.host} closed the connection without answering"))
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
        wait_s, bound = self.read_timeout_s, "read"
        if self.deadline is not None or self.cutoff is not None:
            now = self.loop.time()
            if self.deadline is not None and self.deadline - now < wait_s:
                wait_s, bound = max(self.deadline - now, 0.0), "total"
            if self.cutoff is not None and self.cutoff - now < wait_s:
                wait_s, bound = max(self.cutoff - now, 0.0), "cutoff"
        timer = self.loop.call_later(wait_s, _expire, waiter)
        try:
            await waiter
        except TimeoutError:
            if bound == "cutoff":
                raise UpstreamCutoffError(f"{self.host} sent nothing in the time allowed") from None
            if bound == "total":
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

    def __init__(self, exchange: ResponseReader) -> None:
        self.status = exchange.status
        self.headers = ResponseHeaders(exchange.header_fields)
        self._exchange = exchange

    def lift_cutoff(self) -> None:
        """The first token came: from now on only the read timeout and the deadline bound the waits."""
        self._exchange.cutoff = None

    async def chunks(self) -> AsyncIterator[bytes]:
        while (chunk := await self._exchange.next_chunk()) is not None:
            yield chunk

    async def read(self) -> bytes:
        parts = []
        while (chunk := await self._exchange.next_chunk()) is not None:
            parts.append(chunk)
        return parts[0] if len(parts) == 1 else b"".join(parts)
