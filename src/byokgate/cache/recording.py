"""A stream relayed to the client while an assembler rebuilds the answer it adds up to, for the cache."""

from __future__ import annotations

from typing import Protocol

from byokgate.cache.replay import StreamAssembler
from byokgate.providers.translation import ChatStream


class Assembler(Protocol):
    def feed(self, events: list[bytes]) -> None: ...


class RecordingStream:
    """Wraps a ``ChatStream``: every event it emits is also fed to ``assembler`` (``StreamAssembler`` for
    OpenAI chunks, ``MessageAssembler`` for Anthropic events). A relay that shares the chunk objects it
    parsed anyway (``shares_chunks``) hands those to a ``StreamAssembler`` instead of bytes to parse again."""

    def __init__(self, inner: ChatStream, assembler: Assembler) -> None:
        self._inner = inner
        self.tally = inner.tally
        self.assembler = assembler
        self._shared: StreamAssembler | None = None
        if getattr(inner, "shares_chunks", False) and isinstance(assembler, StreamAssembler):
            self._shared = assembler
            self.tally.chunks = []

    def feed(self, chunk: bytes) -> list[bytes]:
        events = self._inner.feed(chunk)
        shared, chunks = self._shared, self.tally.chunks
        if shared is None or chunks is None:
            self.assembler.feed(events)
            return events
        for parsed in chunks:
            shared.take(parsed)
        chunks.clear()
        if self.tally.done:
            shared.done()
        if self.tally.error is not None:
            shared.broken()
        return events

    def finish(self) -> list[bytes]:
        events = self._inner.finish()
        self.assembler.feed(events)
        return events
