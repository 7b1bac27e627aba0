"""``FrontDoorProtocol``: uvicorn's httptools protocol, holding each connection to the front-door limits.

A read that starts a request and is no longer than the head limit is fed to the parser at once (the common
path: a whole request in one read; it could not overrun a head even if it were all head). Other input is
fed in pieces: a head at most up to the bytes it still has the right to, cut where it ends (at CRLF CRLF),
and a Content-Length body up to where it ends, so that a head is counted from its first byte and nothing
past the limit is buffered. One exception, bounded: a pipelined request that begins inside a read fed at
once is counted from the next read, so at most one limit more of its head is parsed. The field count and
the target length are checked after each piece and, exactly, before the app sees the request. The common
path costs a few attribute updates and one timer per connection, not one per request.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from byokgate.errors import ApiError, InvalidRequestError
from byokgate.serving.cycle import AnswerCycle
from byokgate.serving.limits import DEFAULT_LIMITS, FrontDoorLimits
from byokgate.serving.refusals import (
    HeaderFieldsTooLargeError,
    RequestTimeoutError,
    UriTooLongError,
    busy_error,
    error_response,
    over_capacity,
    refusals,
)

_UNSIZED_BODY_PIECE = 4096  # bytes of a chunked body fed at a time: a head that starts in the piece where
# such a body ends has that much uncounted at most
_UNKNOWN = -1  # _body_left of a body without Content-Length (chunked)


class _Refused(Exception):
    """Raised in a parser callback to stop parsing; the error to answer is on the protocol."""


class FrontDoorProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the front-door limits (``protocol_for`` binds a set of limits)."""

    limits: ClassVar[FrontDoorLimits] = DEFAULT_LIMITS

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limit_concurrency = None  # replaced by the checks in connection_made and on_headers_complete
        limits = self.limits  # read per request: kept on the instance
        self._max_head, self._max_url, self._max_fields = (
            limits.max_header_bytes,
            limits.max_url_bytes,
            limits.max_header_count,
        )
        self._max_tasks, self._header_timeout_s = limits.max_connections, limits.header_timeout_s
        self._in_head = True  # between requests or inside a head; False while a request body is parsed
        self._begun = False  # a request has begun and its head is not complete
        self._head_bytes = 0  # bytes of the current head fed to the parser so far
        self._epoch = 0  # bumped at each head end and request end, to tell whether a feed crossed one
        self._body_left: int | None = None  # of a Content-Length body; None until looked up
        self._refusal: ApiError | None = None  # what a callback that stopped the parser wants answered
        self._closing = False  # refused or timed out: input is dropped from now on
        self._deferred: bytes | None = None  # an answer waiting for the responses still owed before it
        self._head_deadline: float | None = None  # loop time by which the awaited head must be complete
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None

    # Connection events

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            refusals.warning("connections", f"Refused a connection: {self.limits.max_connections} are open.")
            self._refuse(busy_error("open connections"))
            return
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        self._unset_keepalive_if_required()
        size = len(data)
        if self._in_head and not self._begun and size <= self._max_head:
            epoch = self._epoch
            try:
                self.parser.feed_data(data)
            except (httptools.HttpParserUpgrade, httptools.HttpParserError) as exc:
                self._parse_stopped(exc)
                return
            if not self._in_head or self._begun:
                self._fed_at_once(data, size, epoch)
            return
        view, start = memoryview(data), 0
        while start < size:
            if self._in_head:
                room = self._max_head - self._head_bytes
                if room <= 0:
                    self._refuse(self._head_too_large())
                    return
                head_end = data.find(b"\r\n\r\n", start, start + room)
                end = head_end + 4 if head_end >= 0 else start + room
            else:
                if self._body_left is None:
                    self._body_left = self._content_length()
                end = start + (self._body_left if self._body_left > 0 else _UNSIZED_BODY_PIECE)
            epoch = self._epoch
            if not self._feed(view[start:end]):
                return
            if epoch == self._epoch:  # the piece is all head, or all body, of one request
                if self._in_head:
                    self._head_bytes += min(end, size) - start
                    if self._begun and (error := self._head_limit_error()) is not None:
                        self._refuse(error)
                        return
                elif self._body_left is not None and self._body_left > 0:
                    self._body_left -= min(end, size) - start
            start = end
        if not self._in_head and self._body_timer is None:
            self._arm_body_timer()

    def _fed_at_once(self, data: bytes, size: int, epoch: int) -> None:
        """After the common case, a read that started a request and could not overrun a head even if it
        were all head, fed in one call (``data_received``), when it did not end at the end of a request.
        Counted exactly unless the read ends inside a pipelined request after a whole one: what of that one
        was fed here is not counted (at most one limit more of it is parsed)."""
        if self._in_head:
            if self._begun and epoch == self._epoch:  # all of it is the head still coming in
                self._head_bytes = size
                if (error := self._head_limit_error()) is not None:
                    self._refuse(error)
            return
        if self._epoch == epoch + 1:  # one head ended here; its body goes on in the next reads
            self._body_left = self._content_length()
            if self._body_left > 0:
                self._body_left -= size - (data.find(b"\r\n\r\n") + 4)
        if self._body_timer is None:
            self._arm_body_timer()

    def _feed(self, piece: memoryview | bytes) -> bool:
        try:
            self.parser.feed_data(piece)
        except (httptools.HttpParserUpgrade, httptools.HttpParserError) as exc:
            self._parse_stopped(exc)
            return False
        return True

    def _parse_stopped(self, stop: Exception) -> None:
        """The parser stopped: an upgrade request, a malformed request, or a callback's refusal."""
        if isinstance(stop, httptools.HttpParserUpgrade):
            if self._should_upgrade():
                self._cancel_timers()  # the WebSocket protocol owns the connection from here on
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        refusal, self._refusal = self._refusal, None
        if refusal is None:
            refusals.warning("invalid", "Invalid HTTP request received.")
            refusal = InvalidRequestError("Invalid HTTP request received.", code="invalid_http_request")
        self._refuse(refusal)

    def _head_too_large(self) -> ApiError:
        limit = self._max_head
        refusals.warning("head", f"Refused a request head larger than {limit} bytes.")
        return HeaderFieldsTooLargeError(f"The request head is over the {limit} bytes allowed.")

    def _head_limit_error(self) -> ApiError | None:
        """The refusal due to the head parsed so far (its target, or its number of fields), if any."""
        if len(self.url) > self.limits.max_url_bytes:
            limit = self.limits.max_url_bytes
            refusals.warning("url", f"Refused a request target longer than {limit} bytes.")
            return UriTooLongError(f"The request target is longer than the {limit} bytes allowed.")
        if len(self.headers) > self.limits.max_header_count:
            limit = self.limits.max_header_count
            refusals.warning("count", f"Refused a request with more than {limit} header fields.")
            return HeaderFieldsTooLargeError(f"The request has more than the {limit} header fields allowed.")
        return None

    def _content_length(self) -> int:
        for name, value in self.headers:
            if name == b"content-length":
                return int(value) if value.isdigit() else _UNKNOWN
        return _UNKNOWN

    # Parser callbacks

    def on_message_begin(self) -> None:
        self._begun = True
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        if len(self.url) > self._max_url or len(self.headers) > self._max_fields:
            self._refusal = self._head_limit_error()  # answered as a refused head: the request never starts
            raise _Refused
        self._in_head = False
        self._begun = False
        self._body_left = None
        self._epoch += 1
        self._head_deadline = None
        if len(self.tasks) < self._max_tasks:
            super().on_headers_complete()
            self._lean_cycle()
            return
        refusals.warning("tasks", f"Refused a request: {self.limits.max_connections} are in progress.")
        app, self.app = self.app, over_capacity
        try:
            super().on_headers_complete()
        finally:
            self.app = app

    def _lean_cycle(self) -> None:
        """The cycle uvicorn just made for the request is an ``AnswerCycle`` (same state, cheaper head)."""
        cycle = self.cycle
        if cycle is not None and type(cycle) is RequestResponseCycle:
            cycle.__class__ = AnswerCycle

    def on_message_complete(self) -> None:
        self._in_head = True
        self._head_bytes = 0
        self._epoch += 1
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.transport.is_closing():
            return
        if self._deferred is not None:
            if not self.pipeline and self.cycle.response_complete:
                self._unset_keepalive_if_required()
                self._send_and_close(self._deferred)
        elif self.timeout_keep_alive_task is not None:  # nothing queued: waiting for the next request
            self._head_deadline = self.loop.time() + self._header_timeout_s  # ``_await_head``, inline
            if self._head_timer is None:
                self._head_timer = self.loop.call_at(self._head_deadline, self._head_timer_fired)
        else:  # a pipelined request has started
            self._arm_body_timer()

    # Refusals and timers

    def _refuse(self, error: ApiError) -> None:
        """Answer ``error`` and close: now, after the responses still owed on this connection (pipelining),
        or, when the request whose body is being read is the one refused, in place of its answer unless
        that has begun."""
        self._closing = True
        self._cancel_timers()
        response = error_response(error, self.server_state.default_headers)
        cycle = self.cycle
        if not self._in_head and cycle is not None and not cycle.response_complete:
            queued = any(waiting is cycle for waiting, _ in self.pipeline)
            if not queued and not cycle.response_started:
                cycle.disconnected = True  # the app's reads see http.disconnect; its sends go nowhere
                cycle.message_event.set()
                self.transport.write(response)
            self.transport.close()
        elif cycle is not None and (not cycle.response_complete or self.pipeline):
            self._deferred = response
        else:
            self._send_and_close(response)

    def _send_and_close(self, response: bytes) -> None:
        self.transport.write(response)
        self.transport.close()

    def _await_head(self) -> None:
        """Start the header timeout; one timer per connection, re-armed when it fires before its deadline."""
        self._head_deadline = self.loop.time() + self.limits.header_timeout_s
        if self._head_timer is None:
            self._head_timer = self.loop.call_at(self._head_deadline, self._head_timer_fired)

    def _head_timer_fired(self) -> None:
        self._head_timer = None
        deadline = self._head_deadline
        if deadline is None or self.transport.is_closing():
            return  # the head came in time; the next wait arms a new timer
        if self.loop.time() < deadline:
            self._head_timer = self.loop.call_at(deadline, self._head_timer_fired)
            return
        if self._in_head and self._begun:
            timeout = self.limits.header_timeout_s
            refusals.warning("head_timeout", f"Closed a connection whose head took over {timeout:g} s.")
            self._refuse(RequestTimeoutError(f"The request head did not arrive within {timeout:g} seconds."))
        else:  # no request begun (an idle connection), or the rest of an answered request's body is late
            self._closing = True
            self._cancel_timers()
            self.transport.close()

    def _arm_body_timer(self) -> None:
        cycle = self.cycle
        if self._in_head or self._closing or self._body_timer is not None or cycle is None:
            return
        if cycle.response_complete or any(waiting is cycle for waiting, _ in self.pipeline):
            return  # answered already (the header timeout runs), or queued behind another request
        self._body_timer = self.loop.call_later(self.limits.body_timeout_s, self._body_timed_out)

    def _body_timed_out(self) -> None:
        self._body_timer = None
        if self._in_head or self.transport.is_closing():
            return
        timeout = self.limits.body_timeout_s
        refusals.warning("body_timeout", f"Closed a connection whose request body took over {timeout:g} s.")
        self._refuse(RequestTimeoutError(f"The request body did not arrive within {timeout:g} seconds."))

    def _cancel_timers(self) -> None:
        self._head_deadline = None
        for timer in (self._head_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = None
        self._unset_keepalive_if_required()


def protocol_for(chosen: FrontDoorLimits) -> type[FrontDoorProtocol]:
    """The protocol class uvicorn instantiates per connection, bound to ``chosen`` limits."""

    class BoundFrontDoorProtocol(FrontDoorProtocol):
        limits = chosen

    return BoundFrontDoorProtocol
