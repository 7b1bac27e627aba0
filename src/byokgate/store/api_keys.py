"""Project API keys, stored only as SHA-256 hashes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from byokgate.domain.entities import ProjectApiKey
from byokgate.store.bulk import touch_last_used
from byokgate.store.tables import project_api_keys as t

_VIEW = (
    t.c.id,
    t.c.project_id,
    t.c.name,
    t.c.display_prefix,
    t.c.created_at,
    t.c.expires_at,
    t.c.revoked_at,
    t.c.last_used_at,
)


def _key(row: Any) -> ProjectApiKey:
    return ProjectApiKey(*row)


class ApiKeyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def insert(self, key: ProjectApiKey, key_hash: str) -> None:
        await self._conn.execute(
            t.insert().values(
                id=key.id,
                project_id=key.project_id,
                name=key.name,
                key_hash=key_hash,
                display_prefix=key.display_prefix,
                created_at=key.created_at,
                expires_at=key.expires_at,
            )
        )

    async def get(self, project_id: str, key_id: str) -> ProjectApiKey | None:
        query = select(*_VIEW).where(t.c.id == key_id, t.c.project_id == project_id)
        row = (await self._conn.execute(query)).first()
        return _key(row) if row else None

    async def list_for_project(self, project_id: str) -> list[ProjectApiKey]:
        query = select(*_VIEW).where(t.c.project_id == project_id).order_by(t.c.created_at, t.c.id)
        return [_key(row) for row in await self._conn.execute(query)]

    async def find_by_hash(self, key_hash: str) -> ProjectApiKey | None:
        row = (await self._conn.execute(select(*_VIEW).where(t.c.key_hash == key_hash))).first()
        return _key(row) if row else None

    async def all_with_hashes(self) -> list[tuple[str, ProjectApiKey]]:
        """Every key with its hash: what the hot-path snapshot indexes."""
        rows = await self._conn.execute(select(t.c.key_hash, *_VIEW))
        return [(row[0], ProjectApiKey(*row[1:])) for row in rows]

    async def revoke(self, project_id: str, key_id: str, now: datetime) -> bool:
        result = await self._conn.execute(
            update(t)
            .where(t.c.id == key_id, t.c.project_id == project_id, t.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return result.rowcount == 1

    async def touch_last_used(self, used: Mapping[str, datetime]) -> None:
        """Batch update of last-used times; never moves a time backwards."""
        await touch_last_used(self._conn, t, used)
