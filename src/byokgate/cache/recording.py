"""A stream relayed to the client while the completion it adds up to is assembled for the cache."""

from __future__ import annotations

from byokgate.cache.replay import StreamAssembler
from byokgate.providers.translation import ChatStream


class RecordingStream:
    def __init__(self, inner: ChatStream) -> None:
        self._inner = inner
        self.tally = inner.tally
        self.assembler = StreamAssembler()

    def feed(self, chunk: bytes) -> list[bytes]:
        events = self._inner.feed(chunk)
        self.assembler.feed(events)
        return events

    def finish(self) -> list[bytes]:
        events = self._inner.finish()
        self.assembler.feed(events)
        return events
