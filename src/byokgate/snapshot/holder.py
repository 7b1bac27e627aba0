"""Keeps the current snapshot fresh in the background; readers just take ``holder.current``."""

from __future__ import annotations

import asyncio
import logging

from byokgate.snapshot.model import EMPTY, Snapshot, load_snapshot
from byokgate.store.database import Store
from byokgate.store.state import CONFIG_VERSION
from byokgate.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class SnapshotHolder:
    def __init__(self, store: Store, *, poll_interval_s: float) -> None:
        self._store = store
        self._poll_interval_s = poll_interval_s
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.current: Snapshot = EMPTY
        self.reloads = 0

    async def reload(self) -> Snapshot:
        async with self._lock:
            snapshot = await load_snapshot(self._store)
            if snapshot.version >= self.current.version:
                self.current = snapshot  # one reference assignment: readers see old or new, never half
                self.reloads += 1
            return self.current

    async def on_change(self, version: int) -> None:
        if version > self.current.version:
            await self.reload()

    async def poll_once(self) -> None:
        async with self._store.transaction() as tx:
            version = await tx.state.get(CONFIG_VERSION)
        if version != self.current.version:
            await self.reload()

    async def start(self) -> None:
        await self.reload()
        self._task = asyncio.create_task(self._poll(), name="byokgate-snapshot-poll")

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._poll_interval_s)
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep serving the last good snapshot
                log.warning("snapshot refresh failed (%s); serving version %d", exc, self.current.version)

    async def aclose(self) -> None:
        await cancel_and_wait(self._task)
