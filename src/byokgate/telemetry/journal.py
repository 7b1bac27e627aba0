"""The writer's local journal: what the request path hands over is on disk before the client sees the end of
its answer, so a crash of the process loses no acknowledged record, audit event or charge.

The journal is a folder of segment files of JSON lines: ``[tag, [value, ...]]``, an entry's values by
position, in the order the segment's first line (its header) names for each tag. The request path appends
lines to a buffer (``append``: memory only) and ``commit`` writes the buffer with one ``write(2)`` to the
open segment (the data plane commits just before it sends the last bytes of an answer). The batch writer
``seal``s the open segment every flush interval: it either keeps it locked and ``discard``s it once the
batch's transaction, which also records the segment's name, has committed, or (with a writer process)
``release``s it at once for the writer process to store and remove. ``leftovers`` are the segments no
running process holds (each process keeps an exclusive ``flock`` on the segments it owns, taken before a
segment gets its name): what a crashed process acknowledged but had not stored, or what the serving
process released. They are stored exactly once (the name recorded in the same transaction as the rows
says a segment is already in).

What a ``kill -9`` can lose: nothing committed (a finished ``write(2)`` is in the kernel's page cache).
What a power loss can lose: what is not in the database yet and not written back by the kernel, i.e. about
the last flush interval (one second) of answers. The open segment is never ``fsync``ed, because an
``fsync`` of a file being appended to stalls the appends (the request path) on ext4; a sealed segment
whose batch could not be stored (the database away) is ``fsync``ed, since it may wait a long time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import itertools
import logging
import operator
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from byokgate.domain.entities import CreditEntry, NewAuditEvent, RequestBody, RequestRecord

log = logging.getLogger(__name__)

SUFFIX = ".journal"
_STAGING = ".new"  # a segment being created, not yet locked
_STALE_STAGING_S = 60.0
_sequence = itertools.count()


@dataclass(slots=True)
class Entries:
    """What one segment holds (or the writer has queued since the last seal)."""

    records: list[RequestRecord] = field(default_factory=list)
    events: list[NewAuditEvent] = field(default_factory=list)
    credits: list[CreditEntry] = field(default_factory=list)
    used: dict[str, datetime] = field(default_factory=dict)
    bodies: list[RequestBody] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.records) + len(self.events) + len(self.credits) + len(self.used) + len(self.bodies)

    def key_used(self, key_id: str, when: datetime) -> None:
        previous = self.used.get(key_id)
        if previous is None or when > previous:
            self.used[key_id] = when


@dataclass(frozen=True, slots=True)
class _Kind:
    """One kind of journaled entry: its line tag, class, fields (in line order) and which are datetimes."""

    tag: str
    cls: type[Any]
    queue: str  # the ``Entries`` list it goes to
    fields: tuple[str, ...]
    times: frozenset[str]

    @classmethod
    def of(cls, tag: str, entity: type[Any], queue: str) -> _Kind:
        names = tuple(f.name for f in dataclasses.fields(entity))
        times = frozenset(f.name for f in dataclasses.fields(entity) if "datetime" in str(f.type))
        return cls(tag, entity, queue, names, times)


_KINDS = {
    kind.tag: kind
    for kind in (
        _Kind.of("r", RequestRecord, "records"),
        _Kind.of("a", NewAuditEvent, "events"),
        _Kind.of("c", CreditEntry, "credits"),
        _Kind.of("b", RequestBody, "bodies"),
    )
}
_VALUES = {kind.cls: (kind.tag, operator.attrgetter(*kind.fields)) for kind in _KINDS.values()}
_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_APPEND_NEWLINE
# A segment's first line: the fields of each kind, in the order its lines give their values.
HEADER = orjson.dumps(("h", {kind.tag: kind.fields for kind in _KINDS.values()}), option=_OPTIONS)


def encode(entry: object) -> bytes:
    """One journal line: ``[tag, [value, ...]]``, the values in the order the segment's header names (by
    position: a record's line is less than half the size of one with field names, and decodes ~7x faster)."""
    tag, values = _VALUES[type(entry)]
    return orjson.dumps((tag, values(entry)), option=_OPTIONS)


def encode_used(key_id: str, when: datetime) -> bytes:
    """A key's last use: ``["u", [key_id, when]]``."""
    return orjson.dumps(("u", (key_id, when)), option=_OPTIONS)


class _Decoder:
    """Turns one segment's lines into entries. The header names the fields of the positional lines; a
    segment written by another version (fields added, or removed) is read by name. Lines with a field
    object instead of a list come from a version before the header (read by name too)."""

    def __init__(self) -> None:
        self._fields: dict[str, tuple[str, ...]] = {tag: kind.fields for tag, kind in _KINDS.items()}

    def header(self, fields: dict[str, list[str]]) -> None:
        self._fields = {tag: tuple(names) for tag, names in fields.items()}

    def into(self, entries: Entries, line: bytes) -> None:
        tag, body = orjson.loads(line)
        if tag == "u":
            entries.key_used(body[0], _when(body[1]))
            return
        if tag == "h":
            self.header(body)
            return
        kind = _KINDS.get(tag)
        if kind is None:
            raise ValueError(f"unknown journal entry kind {tag!r}")
        if isinstance(body, list):
            names = self._fields[tag]
            if names == kind.fields:  # this version's own order: by position
                for i, name in enumerate(names):
                    if name in kind.times and body[i] is not None:
                        body[i] = _when(body[i])
                getattr(entries, kind.queue).append(kind.cls(*body))
                return
            body = {name: value for name, value in zip(names, body, strict=True) if name in kind.fields}
        for name in kind.times:
            if body.get(name) is not None:
                body[name] = _when(body[name])
        getattr(entries, kind.queue).append(kind.cls(**body))


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value)


class Journal:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._buffer = bytearray()
        self._fd: int | None = None
        self._name = ""
        self._written = 0  # bytes in the open segment
        self._held: dict[str, int] = {}  # sealed segments not discarded yet: name -> fd (keeps the lock)

    def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._open_segment()

    def _open_segment(self) -> None:
        """A new segment, locked before it appears under its name: another process looking for unlocked
        segments (a writer process, a replay) can never take one that is still being written."""
        name = f"{time.time_ns():020d}-{os.getpid()}-{next(_sequence):06d}{SUFFIX}"
        staging = self.directory / (name + _STAGING)
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_EXCL, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.rename(staging, self.directory / name)
        self._name, self._fd, self._written = name, fd, 0

    def append(self, line: bytes) -> None:
        self._buffer += line

    def commit(self) -> None:
        """Write what was appended since the last commit (one system call; no sync)."""
        if self._buffer and self._fd is not None:
            if not self._written:  # a segment's first write starts with its header
                self._buffer[:0] = HEADER
            self._written += os.write(self._fd, self._buffer)
            self._buffer.clear()

    def seal(self, *, release: bool = False) -> str | None:
        """Close the open segment to new lines and open the next; the sealed segment's name, or None when
        nothing was written to it. The sealed segment stays locked until discarded, or with ``release`` is
        unlocked at once: handed to the writer process, which stores and removes it."""
        self.commit()
        if self._fd is None or not self._written:
            return None
        name, fd = self._name, self._fd
        self._open_segment()
        if release:
            os.close(fd)
        else:
            self._held[name] = fd
        return name

    def exists(self, name: str) -> bool:
        """Whether a segment is still on disk (a released one goes once the writer process stored it)."""
        return os.path.exists(self.directory / name)

    def discard(self, name: str) -> None:
        """The segment's entries are in the database: remove it."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.directory / name)
        fd = self._held.pop(name, None)
        if fd is not None:
            os.close(fd)

    def sync(self, name: str) -> None:
        """``fsync`` a sealed segment (one whose batch must wait: nothing is appended to it any more)."""
        fd = self._held.get(name)
        if fd is not None:
            os.fsync(fd)

    def leftovers(self) -> Iterator[tuple[str, Entries]]:
        """Segments no running process holds, oldest first, with what they hold (a torn last line, which
        only a power loss can leave, is skipped and logged)."""
        if not self.directory.is_dir():
            return
        self._remove_stale_staging()
        for path in sorted(self.directory.glob(f"*{SUFFIX}")):
            if path.name == self._name or path.name in self._held:
                continue
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a running process owns it
                yield path.name, _read(path)
            finally:
                os.close(fd)

    def sync_file(self, name: str) -> None:
        """``fsync`` a segment this process does not hold (one whose batch the database refused for now)."""
        with contextlib.suppress(FileNotFoundError):
            fd = os.open(self.directory / name, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _remove_stale_staging(self) -> None:
        """A segment file a process died with between creating and naming it (it holds nothing)."""
        cutoff = time.time() - _STALE_STAGING_S
        for path in self.directory.glob(f"*{SUFFIX}{_STAGING}"):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()

    def remove(self, name: str) -> None:
        """Remove a leftover segment (replayed, or found already in the database)."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.directory / name)

    def close(self) -> None:
        """Commit and close the open segment; an empty one is removed."""
        self.commit()
        if self._fd is not None:
            os.fsync(self._fd)  # at shutdown: what the database did not take waits for the next start
            os.close(self._fd)
            self._fd = None
            if not self._written:
                self.remove(self._name)
        for fd in self._held.values():
            os.close(fd)
        self._held.clear()


def _read(path: Path) -> Entries:
    entries = Entries()
    decoder = _Decoder()
    lines = path.read_bytes().split(b"\n")
    for number, line in enumerate(lines, 1):
        if not line:
            continue
        try:
            decoder.into(entries, line)
        except (ValueError, TypeError, KeyError) as exc:
            if number == len(lines):  # the last line, without its newline: a torn write
                log.warning("journal %s: torn last line skipped (%s)", path.name, exc)
                continue
            raise
    return entries
