"""The names of the journal segments whose entries are in the database (see ``telemetry/journal.py``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from byokgate.store.tables import journal_segments as t


class JournalRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def stored(self, name: str, at: datetime) -> None:
        """Record, in the transaction that writes its entries, that a segment is in."""
        await self._conn.execute(insert(t).values(name=name, stored_at=at))

    async def is_stored(self, name: str) -> bool:
        return (await self._conn.execute(select(t.c.name).where(t.c.name == name))).first() is not None

    async def forget_before(self, cutoff: datetime) -> int:
        result = await self._conn.execute(delete(t).where(t.c.stored_at < cutoff))
        return int(result.rowcount or 0)
