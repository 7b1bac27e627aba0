"""Request and response bodies of the projects that opt in: batch inserts from the writer, one request's
bodies for its trace, and bounded deletions for retention."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from byokgate.domain.entities import RequestBody
from byokgate.store.bulk import BulkInsert
from byokgate.store.tables import request_bodies as t

_COLUMNS = ("request_id", "created_at", "project_id", "request", "response", "truncated")
_INSERT = BulkInsert(t, _COLUMNS)


class BodyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def append_many(self, bodies: Sequence[RequestBody]) -> None:
        await _INSERT.run(
            self._conn,
            [(b.request_id, b.created_at, b.project_id, b.request, b.response, b.truncated) for b in bodies],
        )

    async def get(self, project_id: str, request_id: str) -> RequestBody | None:
        statement = select(t).where(t.c.project_id == project_id, t.c.request_id == request_id)
        row = (await self._conn.execute(statement)).first()
        return RequestBody(**row._mapping) if row else None

    async def delete_before(self, project_id: str | None, cutoff: datetime, limit: int) -> int:
        """Delete up to ``limit`` bodies kept since before ``cutoff`` (of one project, or of any)."""
        doomed = select(t.c.request_id, t.c.created_at).where(t.c.created_at < cutoff).limit(limit)
        if project_id is not None:
            doomed = doomed.where(t.c.project_id == project_id)
        result = await self._conn.execute(
            delete(t).where(tuple_(t.c.request_id, t.c.created_at).in_(doomed.scalar_subquery()))
        )
        return int(result.rowcount or 0)
