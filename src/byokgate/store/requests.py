"""The request log: batch inserts from the writer (which also add to the daily usage aggregates), and the
queries of the admin API: a page of records by filters, newest first, and one record by id."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, delete, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from byokgate.domain.entities import RequestRecord
from byokgate.store.bulk import BulkInsert
from byokgate.store.tables import request_log as t
from byokgate.store.usage import UsageRepository

_COLUMNS = tuple(field.name for field in fields(RequestRecord))
_INSERT = BulkInsert(t, _COLUMNS)
STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")


@dataclass(frozen=True, slots=True)
class RequestQuery:
    """Filters of the request log (each one optional; all given must hold)."""

    start: datetime | None = None  # created at or after
    end: datetime | None = None  # created before
    model: str | None = None  # the requested or the routed model
    provider: str | None = None
    lane: str | None = None
    status: str | None = None  # a status code ("429"), a class ("5xx"), "error" (>= 400) or "ok"
    error_type: str | None = None  # the error's type or code
    cache: str | None = None
    api_key_id: str | None = None
    user: str | None = None  # the ``user`` the client tagged the request with

    def where(self, project_id: str) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = [t.c.project_id == project_id]
        if self.start is not None:
            clauses.append(t.c.created_at >= self.start)
        if self.end is not None:
            clauses.append(t.c.created_at < self.end)
        if self.model is not None:
            clauses.append(or_(t.c.requested_model == self.model, t.c.resolved_model == self.model))
        for column, value in ((t.c.provider, self.provider), (t.c.lane, self.lane), (t.c.cache, self.cache)):
            if value is not None:
                clauses.append(column == value)
        if self.api_key_id is not None:
            clauses.append(t.c.api_key_id == self.api_key_id)
        if self.error_type is not None:
            clauses.append(or_(t.c.error_type == self.error_type, t.c.error_code == self.error_type))
        if self.user is not None:
            clauses.append(t.c.tags["user"].as_string() == self.user)
        if self.status is not None:
            clauses.append(_status(self.status))
        return clauses


def _status(status: str) -> ColumnElement[bool]:
    if status == "error":
        return t.c.status >= 400
    if status == "ok":
        return t.c.status < 400
    if status in STATUS_CLASSES:
        low = int(status[0]) * 100
        return and_(t.c.status >= low, t.c.status < low + 100)
    return t.c.status == int(status)


class RequestLogRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def append_many(self, records: Sequence[RequestRecord]) -> None:
        """Insert the records and add them to the daily usage aggregates, in the caller's transaction."""
        if records:
            rows = [[getattr(record, name) for name in _COLUMNS] for record in records]
            await _INSERT.run(self._conn, rows)
            await UsageRepository(self._conn).add(records)

    async def list_for_project(
        self,
        project_id: str,
        *,
        limit: int,
        before: tuple[datetime, str] | None = None,
        query: RequestQuery | None = None,
    ) -> list[RequestRecord]:
        """Newest first; page with ``before`` = (created_at, id) of the last record seen."""
        statement: Select[tuple[object, ...]] = (
            select(t)
            .where(*(query or RequestQuery()).where(project_id))
            .order_by(t.c.created_at.desc(), t.c.id.desc())
            .limit(limit)
        )
        if before is not None:
            statement = statement.where(tuple_(t.c.created_at, t.c.id) < tuple_(*before))
        return [RequestRecord(**row._mapping) for row in await self._conn.execute(statement)]

    async def get(self, request_id: str) -> RequestRecord | None:
        row = (await self._conn.execute(select(t).where(t.c.id == request_id))).first()
        return RequestRecord(**row._mapping) if row else None

    async def delete_before(self, project_id: str | None, cutoff: datetime, limit: int) -> int:
        """Delete up to ``limit`` records made before ``cutoff`` (of one project, or of any): one bounded
        batch of retention (where partitions cannot be dropped)."""
        doomed = select(t.c.id).where(t.c.created_at < cutoff).limit(limit)
        if project_id is not None:
            doomed = doomed.where(t.c.project_id == project_id)
        result = await self._conn.execute(delete(t).where(t.c.id.in_(doomed.scalar_subquery())))
        return int(result.rowcount or 0)
