"""Per-project response-cache settings (one row per project that changed the defaults)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from byokgate.domain.entities import DEFAULT_CACHE_SETTINGS, CacheSettings
from byokgate.store.tables import project_cache_settings as t


def _settings(row: Any) -> CacheSettings:
    return CacheSettings(
        enabled=row.enabled,
        ttl_s=row.ttl_s,
        max_entry_bytes=row.max_entry_bytes,
        semantic=row.semantic,
        semantic_threshold=row.semantic_threshold,
        semantic_max_turns=row.semantic_max_turns,
        semantic_model=row.semantic_model,
    )


class CacheSettingsRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, project_id: str) -> CacheSettings:
        row = (await self._conn.execute(select(t).where(t.c.project_id == project_id))).first()
        return _settings(row) if row else DEFAULT_CACHE_SETTINGS

    async def put(self, project_id: str, settings: CacheSettings, now: datetime) -> None:
        await self._conn.execute(delete(t).where(t.c.project_id == project_id))
        await self._conn.execute(insert(t).values(project_id=project_id, updated_at=now, **asdict(settings)))

    async def all(self) -> dict[str, CacheSettings]:
        rows = await self._conn.execute(select(t))
        return {row.project_id: _settings(row) for row in rows}
