"""Server-sent events: the one place the code base splits a byte stream into events and frames events.

Every stream the gateway reads (a provider's, a recorded cache entry) is split by ``EventSplitter``; every
event it writes is framed by ``frame`` / ``frame_json``. An event is kept as its raw bytes (without the
blank line that ends it) until someone needs its fields: relays forward most events as the provider framed
them, and parse only the ``data`` they must check.
"""

from __future__ import annotations

from typing import Any

import orjson

DONE = b"data: [DONE]\n\n"  # the end marker of OpenAI-format streams
END = b"\n\n"  # what ends an event


class EventSplitter:
    """Splits a byte stream into complete events, as raw bytes without the blank line that ends each.

    ``\\r\\n`` line ends are normalised to ``\\n``; an event still incomplete when the stream ends stays in
    ``rest``."""

    __slots__ = ("rest",)

    def __init__(self) -> None:
        self.rest = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        data = self.rest + chunk if self.rest else chunk
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n")
        events = data.split(END)
        self.rest = events.pop()
        return [event for event in events if event]


def data_of(raw: bytes) -> bytes:
    """The ``data`` of one raw event: its ``data:`` lines joined by newlines (b"" when it has none, as a
    comment or keep-alive has not)."""
    if raw.startswith(b"data: ") and b"\n" not in raw:  # the common case: one data line
        return raw[6:]
    lines = [_value(line, 5) for line in raw.split(b"\n") if line.startswith(b"data:")]
    return b"\n".join(lines)


def fields(raw: bytes) -> tuple[str | None, bytes]:
    """(event name or None, data) of one raw event."""
    name: str | None = None
    data: list[bytes] = []
    for line in raw.split(b"\n"):
        if line.startswith(b"data:"):
            data.append(_value(line, 5))
        elif line.startswith(b"event:"):
            name = _value(line, 6).decode("utf-8", "replace")
    return name, b"\n".join(data)


def _value(line: bytes, start: int) -> bytes:
    """A field's value: what follows its colon, less one leading space (the SSE rule)."""
    value = line[start:]
    return value[1:] if value.startswith(b" ") else value


def frame(data: bytes, event: str | None = None) -> bytes:
    """One event: an optional ``event:`` line and one ``data:`` line (``data`` must hold no newline)."""
    if event is None:
        return b"data: " + data + END
    return b"event: " + event.encode() + b"\ndata: " + data + END


def frame_json(value: Any, event: str | None = None) -> bytes:
    """One event whose data is ``value`` as compact JSON."""
    return frame(orjson.dumps(value), event)


def terminated(raw: bytes) -> bytes:
    """A raw event (as ``EventSplitter`` gives it) framed again, byte for byte as it arrived."""
    return raw + END
