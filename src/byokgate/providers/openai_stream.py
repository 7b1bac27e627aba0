"""Relaying an OpenAI-format SSE stream: validate each event, note the usage, forward bytes unchanged.

Events are forwarded as the provider framed them (byte-faithful, no re-serialisation); each ``data:`` line
is still parsed, so a malformed chunk or a mid-stream error becomes an error event the OpenAI SDK raises,
never garbage.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from byokgate.providers.translation import DONE_EVENT, RawEvents, StreamTally, error_event


@dataclass(slots=True)
class SSERelay:
    """Feed raw upstream bytes; get back complete events to forward.

    ``strip_usage``: the gateway asked upstream for usage (to know the cost) but the client did not, so the
    usage chunk is noted and dropped, and the ``"usage": null`` of the other chunks removed."""

    strip_usage: bool = False
    tally: StreamTally = field(default_factory=StreamTally)
    _events: RawEvents = field(default_factory=RawEvents)

    def finish(self) -> list[bytes]:
        return []  # the stream's own end marker closed it (or it is interrupted)

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
        payload = b"".join(line[5:].lstrip() for line in event.split(b"\n") if line.startswith(b"data:"))
        if not payload:
            return event + b"\n\n"  # comments (keep-alives) and other fields pass through
        if payload == b"[DONE]":
            self.tally.done = True
            return DONE_EVENT
        try:
            chunk = orjson.loads(payload)
        except orjson.JSONDecodeError:
            self.tally.error = {"message": "malformed chunk from upstream"}
            return error_event(
                "The upstream provider sent a malformed stream chunk.", code="upstream_malformed"
            )
        if not isinstance(chunk, dict):
            self.tally.error = {"message": "malformed chunk from upstream"}
            return error_event(
                "The upstream provider sent a malformed stream chunk.", code="upstream_malformed"
            )
        self.tally.events += 1
        if "error" in chunk and isinstance(chunk["error"], dict):
            self.tally.error = chunk["error"]
            message = str(chunk["error"].get("message") or "upstream error")
            return error_event(
                message, code=str(chunk["error"].get("code")) if chunk["error"].get("code") else None
            )
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.tally.usage = usage
        choices = chunk.get("choices") or ()
        for choice in choices:
            if isinstance(choice, dict) and choice.get("finish_reason"):
                self.tally.finish_reason = str(choice["finish_reason"])
        if self.strip_usage and "usage" in chunk:
            if not choices:
                self.tally.withheld = event + b"\n\n"
                return None  # the usage chunk only the gateway asked for
            event = event.replace(b',"usage":null', b"").replace(b', "usage": null', b"")
        return event + b"\n\n"
