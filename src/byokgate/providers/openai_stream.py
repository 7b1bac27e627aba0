"""Relaying an OpenAI-format stream: check each event, note the usage, forward the bytes unchanged.

Events are forwarded as the provider framed them (no re-serialisation); each ``data`` is still parsed: a
mid-stream error becomes an error event the OpenAI SDK raises, and a malformed chunk is dropped and counted
(``StreamTally.dropped``) so that one bad event does not spoil an answer that otherwise completes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from byokgate.domain.chunks import error_event
from byokgate.domain.sse import DONE, EventSplitter, data_of, terminated
from byokgate.domain.stream import StreamTally


def _carries_content(delta: object) -> bool:
    """A chunk's delta holds something for the client (not just the opening role)."""
    if not isinstance(delta, dict):
        return False
    return any(delta.get(name) for name in _CONTENT_FIELDS)


_CONTENT_FIELDS = ("content", "tool_calls", "reasoning_content", "reasoning", "refusal", "function_call")


def _as_is(usage: dict[str, Any]) -> dict[str, Any]:
    return usage


@dataclass(slots=True)
class SSERelay:
    """Feed raw upstream bytes; get back complete events to forward.

    ``strip_usage``: the gateway asked upstream for usage (to know the cost) but the client did not, so the
    usage chunk is noted and dropped, and the ``"usage": null`` of the other chunks removed. ``usage``: the
    provider's usage object in canonical terms (for the cost)."""

    strip_usage: bool = False
    usage: Callable[[dict[str, Any]], dict[str, Any]] = _as_is
    tally: StreamTally = field(default_factory=StreamTally)
    _events: EventSplitter = field(default_factory=EventSplitter)

    def finish(self) -> list[bytes]:
        """The body ended. After a finish reason, a stream without its ``[DONE]`` (some providers never
        send one) is complete: the client gets the marker. Otherwise it was interrupted."""
        if self.tally.done or self.tally.error is not None or self.tally.finish_reason is None:
            return []
        self.tally.done = True
        return [DONE]

    def feed(self, chunk: bytes) -> list[bytes]:
        out: list[bytes] = []
        for event in self._events.feed(chunk):
            checked = self._check(event)
            if checked is not None:
                out.append(checked)
            if self.tally.error is not None:
                break
        return out

    def _check(self, event: bytes) -> bytes | None:
        payload = data_of(event)
        if not payload:
            return terminated(event)  # comments (keep-alives) and other fields pass through
        if payload == b"[DONE]":
            self.tally.done = True
            return DONE
        try:
            chunk = orjson.loads(payload)
        except orjson.JSONDecodeError:
            chunk = None
        if not isinstance(chunk, dict):
            self.tally.dropped += 1  # one bad event does not spoil a stream that otherwise completes
            return None
        self.tally.events += 1
        if "error" in chunk and isinstance(chunk["error"], dict):
            self.tally.error = chunk["error"]
            message = str(chunk["error"].get("message") or "upstream error")
            return error_event(
                message, code=str(chunk["error"].get("code")) if chunk["error"].get("code") else None
            )
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.tally.usage = self.usage(usage)
        choices = chunk.get("choices") or ()
        for choice in choices:
            if not isinstance(choice, dict):
                continue
            if choice.get("finish_reason"):
                self.tally.finish_reason = str(choice["finish_reason"])
                self.tally.content = True
            elif not self.tally.content and _carries_content(choice.get("delta")):
                self.tally.content = True
        if self.strip_usage and "usage" in chunk:
            if not choices:
                self.tally.withheld = terminated(event)
                return None  # the usage chunk only the gateway asked for
            event = event.replace(b',"usage":null', b"").replace(b', "usage": null', b"")
        return terminated(event)
