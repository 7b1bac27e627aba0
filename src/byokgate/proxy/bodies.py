"""Request and response bodies kept for the projects that opt in (``PUT /projects/{id}/log-bodies``).

The door arms a capture once it knows the project (``arm``: a lookup in the snapshot, nothing more when the
project has not opted in; traces with message content opted in capture every request, for its span only); the
response is captured as it is sent, chunk by chunk, up to the cap; the data plane hands the capture to the
writer once the answer has ended. What is kept is redacted of credentials (anything shaped like a provider or
project key, every secret the process knows, and the values of ``Authorization``-like fields and ``Bearer``
tokens) and cut at ``CAP_BYTES`` per body."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING

from byokgate.domain.entities import RequestBody
from byokgate.logs import REDACTED, REDACTOR

if TYPE_CHECKING:
    from byokgate.proxy.exchange import Exchange, Responded
    from byokgate.snapshot.model import Snapshot

CAP_BYTES = 32 * 1024  # per body: the request, the response
_TOKEN = re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{6,}")
_FIELD = re.compile(
    r"(?i)(\"?(?:authorization|proxy-authorization|x-api-key|api[_-]?key|x-goog-api-key)\"?\s*[:=]\s*\"?)"
    r"([^\"\s,}]+)"
)


class BodyCapture:
    __slots__ = ("_request", "_response", "_size", "keep", "truncated")

    def __init__(self, request: bytes, *, keep: bool = True) -> None:
        self.keep = keep  # the project keeps its bodies (else they are captured for the span only)
        self.truncated = len(request) > CAP_BYTES
        self._request = request[:CAP_BYTES]
        self._response: list[bytes] = []
        self._size = 0

    def add(self, chunk: bytes) -> None:
        """A piece of the response as it is sent."""
        room = CAP_BYTES - self._size
        if room <= 0:
            self.truncated = self.truncated or bool(chunk)
            return
        if len(chunk) > room:
            chunk, self.truncated = chunk[:room], True
        self._response.append(chunk)
        self._size += len(chunk)

    def texts(self) -> tuple[str, str]:
        """The request and the response as captured (not redacted yet)."""
        request = self._request.decode("utf-8", "replace")
        return request, b"".join(self._response).decode("utf-8", "replace")

    def entry(self, request_id: str, created_at: datetime, project_id: str) -> RequestBody:
        request, response = self.texts()
        return RequestBody(
            request_id=request_id,
            created_at=created_at,
            project_id=project_id,
            request=redact(request),
            response=redact(response),
            truncated=self.truncated,
        )


def redact(text: str) -> str:
    """``text`` without the credentials it may hold."""
    text = REDACTOR.scrub(text)
    text = _TOKEN.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return _FIELD.sub(lambda m: f"{m.group(1)}{REDACTED}", text)


def arm(snapshot: Snapshot, exchange: Exchange, send: Responded, request: bytes) -> None:
    """Capture this request's bodies if its project keeps them, or its span carries message content."""
    key = exchange.key
    keep = bool(snapshot.bodies) and key is not None and key.project_id in snapshot.bodies
    if keep or exchange.capture_content:
        exchange.capture = send.capture = BodyCapture(request, keep=keep)
