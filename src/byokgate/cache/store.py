"""Where cache entries live: the contract, and the in-process LRU bounded by bytes (the embedded default)."""

from __future__ import annotations

import struct
import time
from collections import OrderedDict
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


_ENTRY_OVERHEAD = 200  # bytes per entry beyond key and value (dict slot, order node, object headers)
_EXPIRES = struct.Struct("<d")  # an entry is its expiry time (time.monotonic()) then the stored bytes


class MemoryStore:
    """Least-recently-used entries go first once ``max_bytes`` is reached; expired ones on access.

    ``max_bytes`` bounds what the entries really take: value, key and a measured per-entry overhead.

    Each entry is one bytes object (expiry, then value) under its key rather than a tuple of a float and
    the value: two fewer long-lived small objects per entry (~80 bytes), so more entries fit the budget."""

    def __init__(self, max_bytes: int = 32 * 1024 * 1024) -> None:
        # Read directly (``key in entries``) by the cache gate for a miss: most lookups are misses.
        self.entries: OrderedDict[str, bytes] = OrderedDict()
        self._max_bytes = max_bytes
        self.size = 0

    def peek(self, key: str) -> bytes | None:
        """``get`` without the coroutine: the hot path calls this directly (the store is in process)."""
        entry = self.entries.get(key)
        if entry is None:
            return None
        if _EXPIRES.unpack_from(entry)[0] <= time.monotonic():
            self._drop(key)
            return None
        self.entries.move_to_end(key)
        return entry[_EXPIRES.size :]

    def put(self, key: str, value: bytes, ttl_s: float) -> None:
        """``set`` without the coroutine."""
        cost = len(value) + len(key) + _ENTRY_OVERHEAD
        if cost > self._max_bytes:
            return
        entries = self.entries
        replaced = entries.pop(key, None)
        if replaced is not None:
            self.size -= _cost(key, replaced)
        # A new object of exactly the entry's size: serialisers (orjson) hand back objects that keep their
        # whole working buffer (~8 KiB for a 700-byte answer), which would make the cache ~10x its budget.
        entries[key] = _EXPIRES.pack(time.monotonic() + ttl_s) + value
        self.size += cost
        while self.size > self._max_bytes:
            oldest, dropped = entries.popitem(last=False)
            self.size -= len(dropped) - _EXPIRES.size + len(oldest) + _ENTRY_OVERHEAD  # ``_cost``, inline

    def swap(self, key: str, value: bytes | None) -> None:
        """``replace`` without the coroutine."""
        entry = self.entries.get(key)
        if entry is None:
            return
        if value is None:
            self._drop(key)
            return
        self.entries[key] = entry[: _EXPIRES.size] + value
        self.size += len(value) - (len(entry) - _EXPIRES.size)
        while self.size > self._max_bytes:
            oldest, dropped = self.entries.popitem(last=False)
            self.size -= _cost(oldest, dropped)

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


def _cost(key: str, entry: bytes) -> int:
    """What an entry was charged (``entry`` holds the expiry before the value)."""
    return len(entry) - _EXPIRES.size + len(key) + _ENTRY_OVERHEAD
