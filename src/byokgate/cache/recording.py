"""A stream relayed to the client while an assembler rebuilds the answer it adds up to, for the cache."""

from __future__ import annotations

from typing import Protocol

from byokgate.cache.replay import StreamAssembler
from byokgate.providers.translation import ChatStream


class Assembler(Protocol):
    def feed(self, events: list[bytes]) -> None: ...


def recorded(inner: ChatStream, assembler: Assembler) -> ChatStream:
    """What to relay so that ``assembler`` sees the stream. A relay that parses its chunks anyway
    (``shares_chunks``, the OpenAI-format relay) is relayed as it is and hands each chunk object it parsed
    to a ``StreamAssembler``: nobody parses the same bytes twice and no wrapper runs per read. Any other
    stream is wrapped in a ``RecordingStream``."""
    if getattr(inner, "shares_chunks", False) and isinstance(assembler, StreamAssembler):
        assembler.watch(inner.tally)
        return inner
    return RecordingStream(inner, assembler)


class RecordingStream:
    """Wraps a ``ChatStream``: every event it emits is also fed to ``assembler`` (``StreamAssembler`` for
    OpenAI chunks, ``MessageAssembler`` for Anthropic events)."""

    def __init__(self, inner: ChatStream, assembler: Assembler) -> None:
        self._inner = inner
        self.tally = inner.tally
        self.assembler = assembler

    def feed(self, chunk: bytes) -> list[bytes]:
        events = self._inner.feed(chunk)
        self.assembler.feed(events)
        return events

    def finish(self) -> list[bytes]:
        events = self._inner.finish()
        self.assembler.feed(events)
        return events
