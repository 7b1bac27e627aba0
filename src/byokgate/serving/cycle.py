"""``AnswerCycle``: uvicorn's request-response cycle with a cheaper response head.

uvicorn checks each response header with two regular-expression searches and writes the head as soon as
the app sends ``http.response.start``: with the gateway's dozen ``x-byokgate-*`` headers that is ~5 µs of
checks, and a JSON answer leaves in two writes (two system calls, two TCP segments). Here every name is
checked in one search over all of them, and every value in one more (the same patterns, so the same
heads are refused), and the head of a response with a Content-Length is held until its first body bytes
and written with them. A streamed response (no Content-Length), a HEAD request, and the access log keep
uvicorn's own path. ``FrontDoorProtocol`` gives each request's cycle this class.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import (
    HEADER_RE,
    HEADER_VALUE_RE,
    STATUS_LINE,
    RequestResponseCycle,
)


class AnswerCycle(RequestResponseCycle):
    _head: bytes | None = None  # a Content-Length response's head, until its first body bytes

    async def send(self, message: Any) -> None:
        kind = message["type"]
        if self._head is not None and kind == "http.response.body":
            await self._send_first_body(message)
        elif (
            kind == "http.response.start"
            and not self.response_started
            and not self.access_log
            and self.scope["method"] != "HEAD"
        ):
            await self._start(message)
        else:
            await super().send(message)

    async def _start(self, message: Any) -> None:
        if self.flow.write_paused and not self.disconnected:
            await self.flow.drain()
        if self.disconnected:
            return
        self.response_started = True
        self.waiting_for_100_continue = False
        status = message["status"]
        headers = [*self.default_headers, *message.get("headers", ())]
        if HEADER_RE.search(b"".join(name for name, _ in headers)):
            raise RuntimeError("Invalid HTTP header name.")
        if HEADER_VALUE_RE.search(b"\t".join(value for _, value in headers)):  # (a tab is allowed)
            raise RuntimeError("Invalid HTTP header value.")
        content = [STATUS_LINE[status]]
        has_connection_close = False
        for name, value in headers:
            name = name.lower()
            if name == b"content-length" and self.chunked_encoding is None:
                self.expected_content_length = int(value.decode())
                self.chunked_encoding = False
            elif name == b"transfer-encoding" and value.lower() == b"chunked":
                self.expected_content_length = 0
                self.chunked_encoding = True
            elif name == b"connection" and b"close" in [t.lower().strip() for t in value.split(b",")]:
                self.keep_alive = False
                has_connection_close = True
            content.extend((name, b": ", value, b"\r\n"))
        if not self.keep_alive and not has_connection_close:
            content.append(b"connection: close\r\n")
        if self.chunked_encoding is None and status not in (204, 304):
            self.chunked_encoding = True
            content.append(b"transfer-encoding: chunked\r\n")
        content.append(b"\r\n")
        head = b"".join(content)
        if self.chunked_encoding is False and self.expected_content_length > 0:
            self._head = head  # written with the first body bytes
        else:
            self.transport.write(head)

    async def _send_first_body(self, message: Any) -> None:
        head, self._head = self._head, None
        assert head is not None
        if self.flow.write_paused and not self.disconnected:
            await self.flow.drain()
        if self.disconnected:
            return
        body = message.get("body", b"")
        if len(body) > self.expected_content_length:
            raise RuntimeError("Response content longer than Content-Length")
        self.expected_content_length -= len(body)
        self.transport.write(head + body)
        if not message.get("more_body", False):
            if self.expected_content_length != 0:
                raise RuntimeError("Response content shorter than Content-Length")
            self.response_complete = True
            self.message_event.set()
            if not self.keep_alive:
                self.transport.close()
            self.on_response()
