"""Telling every instance that configuration changed: in-process, or Redis pub/sub (``redis_bus``).

Without Redis, instances notice changes by polling the configuration version (see ``SnapshotHolder``); with
it, they also hear about them at once. Losing a message is harmless: the poll catches up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

CHANNEL = "byokgate:config-changed"


class ChangeBus(Protocol):
    async def publish(self, version: int) -> None: ...

    async def listen(self, on_change: Callable[[int], Awaitable[None]]) -> None: ...

    async def aclose(self) -> None: ...


class LocalChangeBus:
    """Single-process: the control plane and the snapshot share the process, so call straight through."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[int], Awaitable[None]]] = []

    async def publish(self, version: int) -> None:
        for listener in list(self._listeners):
            await listener(version)

    async def listen(self, on_change: Callable[[int], Awaitable[None]]) -> None:
        self._listeners.append(on_change)

    async def aclose(self) -> None:
        self._listeners.clear()
