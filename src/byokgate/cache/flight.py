"""Single flight: concurrent identical misses wait for the first one instead of each calling upstream."""

from __future__ import annotations

import asyncio


class SingleFlight:
    """The event a follower waits on is made only when a follower comes: a lone miss costs a dict entry."""

    def __init__(self) -> None:
        self._leaders: dict[str, asyncio.Event | None] = {}

    def lead(self, key: str) -> asyncio.Event | None:
        """None: the caller leads (and must call ``land``); an event: someone else does, wait for it."""
        if key not in self._leaders:
            self._leaders[key] = None
            return None
        event = self._leaders[key]
        if event is None:
            event = self._leaders[key] = asyncio.Event()
        return event

    def land(self, key: str) -> None:
        """The leader is done (stored or not): wake the followers."""
        event = self._leaders.pop(key, None)
        if event is not None:
            event.set()
