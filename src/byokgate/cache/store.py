"""Where cache entries live: the contract, and the in-process LRU bounded by bytes (the embedded default)."""

from __future__ import annotations

import time
from typing import Protocol


class CacheStore(Protocol):
    """Entries are opaque bytes under string keys; every failure is a miss, never an error."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl_s: float) -> None: ...

    async def replace(self, key: str, value: bytes | None) -> None:
        """Put ``value`` in the place of an entry that is there, with the entry's expiry; None drops it."""
        ...

    async def purge(self, project_id: str) -> int:
        """Drop every entry of one project; returns how many went."""
        ...

    async def aclose(self) -> None: ...


_ENTRY_OVERHEAD = 240  # bytes per entry beyond key and value (dict slot, expiry tuple and float, headers)


class MemoryStore:
    """Least-recently-used entries go first once ``max_bytes`` is reached; expired ones on access.

    ``max_bytes`` bounds what the entries really take: value, key and a measured per-entry overhead.

    Entries live in a plain dict in least-recently-used-first order (a read moves its entry to the end).
    A write that would pass ``max_bytes`` sweeps the oldest entries out in one pass, down to 7/8 of the
    budget, rather than one eviction per write: every write on a full store is a cache miss on its way
    back to the client, and under load each operation on that path costs several times what it does in
    a loop (paired benchmark, both stores in one gateway: a miss stored this way cost ~1% less of the
    gateway's throughput than in an ``OrderedDict`` with one eviction per write)."""

    def __init__(self, max_bytes: int = 32 * 1024 * 1024) -> None:
        # key -> (expiry on time.monotonic(), value). Read directly (``key in entries``) by the cache gate
        # for a miss: most lookups are misses.
        self.entries: dict[str, tuple[float, bytes]] = {}
        self._max_bytes = max_bytes
        self._low_water = max_bytes - max_bytes // 8
        self.size = 0

    def peek(self, key: str) -> bytes | None:
        """``get`` without the coroutine: the hot path calls this directly (the store is in process)."""
        entries = self.entries
        entry = entries.get(key)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            self._drop(key)
            return None
        del entries[key]  # to the end: the most recently used
        entries[key] = entry
        return entry[1]

    def put(self, key: str, value: bytes, ttl_s: float, *, exact: bool = False) -> None:
        """``set`` without the coroutine. ``exact``: the caller knows ``value`` holds no spare buffer (it was
        read off the network or joined from parts), so it is kept as it is rather than copied."""
        cost = len(value) + len(key) + _ENTRY_OVERHEAD
        if cost > self._max_bytes:
            return
        entries = self.entries
        replaced = entries.pop(key, None)
        if replaced is not None:
            self.size -= _cost(key, replaced)
        # Otherwise a copy of exactly the value's size: serialisers (orjson) hand back objects whose freed
        # working buffer (~8 KiB for a 700-byte answer) stays stranded next to them, making the cache ~10x
        # its budget. The copy is a fresh allocation on every miss, so callers that can vouch skip it.
        entries[key] = (time.monotonic() + ttl_s, value if exact else bytes(memoryview(value)))
        self.size += cost
        if self.size > self._max_bytes:
            self._sweep(key)

    def swap(self, key: str, value: bytes | None) -> None:
        """``replace`` without the coroutine (the entry keeps its place and its expiry)."""
        entry = self.entries.get(key)
        if entry is None:
            return
        if value is None:
            self._drop(key)
            return
        self.entries[key] = (entry[0], bytes(memoryview(value)))
        self.size += len(value) - len(entry[1])
        if self.size > self._max_bytes:
            self._sweep(key)

    def _sweep(self, written: str) -> None:
        """Drop the least recently used entries until the store is down to its low-water mark, sparing the
        entry just ``written`` (which fits the budget alone, but may be larger than the mark)."""
        entries, size, low = self.entries, self.size, self._low_water
        doomed = []
        for key, entry in entries.items():
            if size <= low:
                break
            if key == written:
                continue
            doomed.append(key)
            size -= len(entry[1]) + len(key) + _ENTRY_OVERHEAD  # ``_cost``, inline: thousands a sweep
        for key in doomed:
            del entries[key]
        self.size = size

    async def get(self, key: str) -> bytes | None:
        return self.peek(key)

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        self.put(key, value, ttl_s)

    async def replace(self, key: str, value: bytes | None) -> None:
        self.swap(key, value)

    async def purge(self, project_id: str) -> int:
        prefix = f"{project_id}:"
        doomed = [key for key in self.entries if key.startswith(prefix)]
        for key in doomed:
            self._drop(key)
        return len(doomed)

    def _drop(self, key: str) -> None:
        entry = self.entries.pop(key, None)
        if entry is not None:
            self.size -= _cost(key, entry)

    async def aclose(self) -> None:
        self.entries.clear()
        self.size = 0


def _cost(key: str, entry: tuple[float, bytes]) -> int:
    """What an entry was charged."""
    return len(entry[1]) + len(key) + _ENTRY_OVERHEAD
