"""Windowed counters with an all-or-nothing take: the contract, and the in-process implementation.

A request takes from several counters at once (project and key, requests, tokens and spend): either every
amount fits under its limit and all are added, or none is and the first that would overflow is named. In
one process that is atomic because nothing awaits in between; across instances the Redis implementation
(``redis_counters.py``) does the same in one Lua script.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Take:
    key: str  # the counter, its window included (e.g. "proj_x:project:rpm:29384751")
    limit: int
    amount: int
    ttl_s: float  # how long the window lasts from now (the counter may go once it is over)


class Counters(Protocol):
    async def take(self, takes: Sequence[Take]) -> int | None:
        """Add every amount, or none: the index of the first take that would pass its limit, else None."""
        ...

    async def add(self, key: str, amount: int, ttl_s: float) -> int:
        """Add (or with a negative amount, give back) outside any limit; returns the new value."""
        ...

    async def first(self, flag: str, ttl_s: float) -> bool:
        """True for the first caller to raise ``flag`` until it expires (once-per-period alerts)."""
        ...

    async def hold(self, spent: str, held: str, spent_from: int, ceiling: int, amount: int) -> bool:
        """Credits: add ``amount`` to ``held`` if ``spent`` + ``held`` + ``amount`` stays within ``ceiling``.
        ``spent`` starts at ``spent_from`` (what the database knew) the first time it is used; it never
        expires, ``held`` does an hour after its last hold (what a crashed instance held is freed)."""
        ...

    async def spend(self, spent: str, held: str, spent_from: int, release: int, amount: int) -> int:
        """Credits: move ``release`` out of ``held`` and add ``amount`` to ``spent``; returns ``spent``."""
        ...

    async def aclose(self) -> None: ...


_SWEEP_EVERY = 4096  # writes between sweeps of expired counters
HELD_TTL_S = 3600.0
_FOREVER_S = 10 * 365 * 86400.0


class MemoryCounters:
    def __init__(self) -> None:
        self._values: dict[str, tuple[float, int]] = {}  # key -> (expires at, value)
        self._writes = 0

    def _value(self, key: str, now: float) -> int:
        entry = self._values.get(key)
        return entry[1] if entry is not None and entry[0] > now else 0

    def _set(self, key: str, value: int, ttl_s: float, now: float) -> None:
        entry = self._values.get(key)
        expires = entry[0] if entry is not None and entry[0] > now else now + ttl_s
        self._values[key] = (expires, value)
        self._writes += 1
        if self._writes % _SWEEP_EVERY == 0:
            self._values = {k: v for k, v in self._values.items() if v[0] > now}

    async def take(self, takes: Sequence[Take]) -> int | None:
        now = time.monotonic()
        for index, take in enumerate(takes):
            if self._value(take.key, now) + take.amount > take.limit:
                return index
        for take in takes:
            self._set(take.key, self._value(take.key, now) + take.amount, take.ttl_s, now)
        return None

    async def add(self, key: str, amount: int, ttl_s: float) -> int:
        now = time.monotonic()
        value = max(self._value(key, now) + amount, 0)
        self._set(key, value, ttl_s, now)
        return value

    async def first(self, flag: str, ttl_s: float) -> bool:
        now = time.monotonic()
        if self._value(flag, now):
            return False
        self._set(flag, 1, ttl_s, now)
        return True

    async def hold(self, spent: str, held: str, spent_from: int, ceiling: int, amount: int) -> bool:
        now = time.monotonic()
        if spent not in self._values:
            self._set(spent, spent_from, _FOREVER_S, now)
        reserved = self._value(held, now)
        if self._value(spent, now) + reserved + amount > ceiling:
            return False
        self._values[held] = (now + HELD_TTL_S, reserved + amount)
        return True

    async def spend(self, spent: str, held: str, spent_from: int, release: int, amount: int) -> int:
        now = time.monotonic()
        if spent not in self._values:
            self._set(spent, spent_from, _FOREVER_S, now)
        total = self._value(spent, now) + amount
        self._set(spent, total, _FOREVER_S, now)
        entry = self._values.get(held)
        if entry is not None:
            self._values[held] = (entry[0], max(entry[1] - release, 0))
        return total

    async def aclose(self) -> None:
        self._values.clear()
