"""Named monotonic counters (e.g. the configuration version the hot-path snapshot follows)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from byokgate.store.tables import gateway_state as t

CONFIG_VERSION = "config_version"


class StateRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, name: str) -> int:
        value = (await self._conn.execute(select(t.c.value).where(t.c.name == name))).scalar()
        return int(value) if value is not None else 0

    async def bump(self, name: str) -> int:
        """Increment atomically inside the caller's transaction; creates the counter on first use."""
        result = await self._conn.execute(update(t).where(t.c.name == name).values(value=t.c.value + 1))
        if result.rowcount == 0:
            await self._conn.execute(t.insert().values(name=name, value=1))
        return await self.get(name)
