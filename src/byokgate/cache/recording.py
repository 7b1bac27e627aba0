"""A streamed miss recorded as the bytes the client was sent, and assembled into its entry only when needed.

Assembling a stream into the answer it adds up to (a ``chat.completion`` or an Anthropic ``message``) costs
Python work on every chunk; a miss that paid it as it relayed ran 10-15% slower than no cache at all. So a
streamed miss keeps only the bytes it sends (one list append per upstream read) and, once the stream has
ended cleanly, stores them as a *recorded* entry: ``RECORDED`` then the SSE events. The first time such an
entry is read, ``settled`` assembles it and the store keeps the result in its place; a recorded entry that
does not assemble (broken, interrupted, several choices) is dropped and never served.

Two cases are assembled before storing instead, so that what must never be stored never is: a stream with
tool calls (their arguments must parse) and a stream too long to store as bytes (past the entry limit the
recording turns into an assembler fed as the stream goes, so a long stream is never held whole).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

RECORDED = b"\x00sse\n"  # a recorded entry's first bytes: no JSON entry can start with a NUL byte


class Assembler(Protocol):
    """Rebuilds the answer a stream adds up to from its events (whole events or any pieces of them)."""

    def feed(self, events: list[bytes]) -> None: ...

    def entry(self) -> bytes | None:
        """The entry to store (the answer as JSON), or None when the stream must not be stored."""
        ...


class StreamRecord:
    """What a streamed miss sent the client, added as it goes (``add``), for ``entry`` at the end.

    ``checked``: bytes whose presence means the stream must be assembled (checked) before it is stored,
    e.g. tool calls. ``tail``: an event the client was not sent but the entry needs (the usage chunk the
    gateway asked for and withheld), added at the end."""

    __slots__ = ("_assemble", "_assembler", "_checked", "_keep_bytes", "_size", "parts")

    def __init__(self, assemble: Callable[[], Assembler], checked: bytes, max_entry_bytes: int) -> None:
        self.parts: list[bytes] = []
        self._size = 0
        self._assemble = assemble
        self._checked = checked
        self._keep_bytes = max_entry_bytes - len(RECORDED)  # kept as bytes while it could be stored so
        self._assembler: Assembler | None = None

    def add(self, body: bytes) -> None:
        if self._assembler is not None:
            self._assembler.feed([body])
            return
        self.parts.append(body)
        self._size += len(body)
        if self._size > self._keep_bytes:  # too long to keep: assemble from here on
            self._assembler = self._assemble()
            self._assembler.feed(self.parts)
            self.parts = []

    def entry(self, tail: bytes = b"") -> bytes | None:
        """The entry to store: recorded bytes, or the assembled answer (None: nothing to store)."""
        assembler = self._assembler
        if assembler is None:
            recorded = b"".join((RECORDED, *self.parts, tail))
            if self._checked not in recorded:
                return recorded
            assembler = self._assemble()
            assembler.feed([recorded[len(RECORDED) :]])
        elif tail:
            assembler.feed([tail])
        return assembler.entry()


def settled(entry: bytes, assemble: Callable[[], Assembler]) -> bytes | None:
    """An entry as it is served: a recorded one assembled (None when it does not assemble), else itself."""
    if not entry.startswith(RECORDED):
        return entry
    assembler = assemble()
    assembler.feed([entry[len(RECORDED) :]])
    return assembler.entry()
