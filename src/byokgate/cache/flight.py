"""Single flight: concurrent identical misses wait for the first one instead of each calling upstream."""

from __future__ import annotations

import asyncio


class SingleFlight:
    def __init__(self) -> None:
        self._leaders: dict[str, asyncio.Event] = {}

    def lead(self, key: str) -> asyncio.Event | None:
        """None: the caller leads (and must call ``land``); an event: someone else does, wait for it."""
        running = self._leaders.get(key)
        if running is not None:
            return running
        self._leaders[key] = asyncio.Event()
        return None

    def land(self, key: str) -> None:
        """The leader is done (stored or not): wake the followers."""
        event = self._leaders.pop(key, None)
        if event is not None:
            event.set()
