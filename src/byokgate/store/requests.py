"""The request log: batch inserts from the writer, newest-first reads for the admin API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime

from sqlalchemy import insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from byokgate.domain.entities import RequestRecord
from byokgate.store.tables import request_log as t

_COLUMNS = tuple(field.name for field in fields(RequestRecord))


class RequestLogRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def append_many(self, records: Sequence[RequestRecord]) -> None:
        if records:
            await self._conn.execute(
                insert(t), [{name: getattr(record, name) for name in _COLUMNS} for record in records]
            )

    async def list_for_project(
        self, project_id: str, *, limit: int, before: tuple[datetime, str] | None = None
    ) -> list[RequestRecord]:
        """Newest first; page with ``before`` = (created_at, id) of the last record seen."""
        query = (
            select(t)
            .where(t.c.project_id == project_id)
            .order_by(t.c.created_at.desc(), t.c.id.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(tuple_(t.c.created_at, t.c.id) < tuple_(*before))
        return [RequestRecord(**row._mapping) for row in await self._conn.execute(query)]

    async def get(self, request_id: str) -> RequestRecord | None:
        row = (await self._conn.execute(select(t).where(t.c.id == request_id))).first()
        return RequestRecord(**row._mapping) if row else None
