"""A bounded record of the requests an emulator received, so tests can see what the gateway sent.

Appending is O(1) and lock-free (a `deque` with `maxlen`), so it stays cheap under load and old requests
fall off the end instead of growing memory without bound.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

DEFAULT_CAPACITY = 10_000


@dataclass(slots=True)
class RecordedRequest:
    """One request as received: header names are lower-cased; `body` is the parsed JSON (None when there
    was no body or it was not JSON); `unknown_fields` lists the top-level body fields the provider's API
    does not define (accepted and ignored, as the real APIs do); `status` is filled in once answered."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    unknown_fields: tuple[str, ...] = ()
    status: int | None = None
    received_at: float = field(default_factory=time.time)

    @property
    def api_key(self) -> str | None:
        """The key the request carried, in whichever way its provider takes it: Bearer (OpenAI-format,
        Anthropic's newer SDKs), ``x-api-key`` (Anthropic), ``api-key`` (Azure OpenAI), ``x-goog-api-key``
        or ``?key=`` (Gemini)."""
        value = self.headers.get("authorization", "")
        if value[:7].lower() == "bearer ":
            return value[7:]
        for header in ("x-api-key", "api-key", "x-goog-api-key"):
            if self.headers.get(header):
                return self.headers[header]
        keys = parse_qs(self.query).get("key")
        return keys[0] if keys else None

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body": self.body,
            "unknown_fields": list(self.unknown_fields),
            "status": self.status,
            "received_at": self.received_at,
        }


class Recorder:
    """The last `capacity` requests, oldest first."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY, *, enabled: bool = True) -> None:
        self._requests: deque[RecordedRequest] = deque(maxlen=capacity)
        self.enabled = enabled

    def add(self, request: RecordedRequest) -> None:
        if self.enabled:
            self._requests.append(request)

    def snapshot(self) -> list[RecordedRequest]:
        return list(self._requests)

    def clear(self) -> None:
        self._requests.clear()

    def __len__(self) -> int:
        return len(self._requests)
