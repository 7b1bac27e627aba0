"""Per-project response-cache settings (one row per project that changed the defaults)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from byokgate.domain.entities import DEFAULT_CACHE_SETTINGS, CacheSettings
from byokgate.store.tables import project_cache_settings as t


class CacheSettingsRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, project_id: str) -> CacheSettings:
        row = (await self._conn.execute(select(t).where(t.c.project_id == project_id))).first()
        return CacheSettings(row.enabled, row.ttl_s, row.max_entry_bytes) if row else DEFAULT_CACHE_SETTINGS

    async def put(self, project_id: str, settings: CacheSettings, now: datetime) -> None:
        await self._conn.execute(delete(t).where(t.c.project_id == project_id))
        await self._conn.execute(
            insert(t).values(
                project_id=project_id,
                enabled=settings.enabled,
                ttl_s=settings.ttl_s,
                max_entry_bytes=settings.max_entry_bytes,
                updated_at=now,
            )
        )

    async def all(self) -> dict[str, CacheSettings]:
        rows = await self._conn.execute(select(t))
        return {row.project_id: CacheSettings(row.enabled, row.ttl_s, row.max_entry_bytes) for row in rows}
