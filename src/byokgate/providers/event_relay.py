"""A provider's own stream of typed JSON events relayed natively (the Messages API's, the Responses API's):
each event forwarded byte for byte as the provider framed it, its ``data`` still parsed so that the
adapter's ``_note`` can tell the request record the usage, the finish and the end; a malformed event is
dropped and counted (the rest of the stream may well complete), and nothing follows an error."""

from __future__ import annotations

from typing import Any

import orjson

from byokgate.domain.sse import EventSplitter, data_of, terminated
from byokgate.domain.stream import StreamTally


class EventRelay:
    def __init__(self) -> None:
        self.tally = StreamTally()
        self._events = EventSplitter()

    def finish(self) -> list[bytes]:
        return []

    def feed(self, chunk: bytes) -> list[bytes]:
        out: list[bytes] = []
        for raw in self._events.feed(chunk):
            if self.tally.error is not None:
                break
            payload = data_of(raw)
            try:
                event = orjson.loads(payload) if payload else {}
            except orjson.JSONDecodeError:
                event = None
            if not isinstance(event, dict):
                self.tally.dropped += 1
                continue
            self.tally.events += 1
            self._note(event)
            out.append(terminated(raw))
        return out

    def _note(self, event: dict[str, Any]) -> None:
        """What one event says (the subclass's format)."""
        raise NotImplementedError
