"""The request log: batch inserts from the writer, newest-first reads for the admin API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime

from sqlalchemy import ColumnElement, case, func, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from byokgate.domain.entities import RequestRecord
from byokgate.store.tables import request_log as t

_COLUMNS = tuple(field.name for field in fields(RequestRecord))

# What a usage report can be grouped by, and the request-log column behind each (day is computed).
USAGE_GROUPS = {
    "model": t.c.resolved_model,
    "provider": t.c.provider,
    "lane": t.c.lane,
    "api_key": t.c.api_key_id,
}
USAGE_METRICS = (
    "requests",
    "errors",
    "cache_hits",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cached_tokens",
    "cost_micro_usd",
    "cost_saved_micro_usd",
    "charged_micro_usd",
    "unpriced_requests",
)


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

    async def usage(
        self, project_id: str, start: datetime, end: datetime, group_by: Sequence[str]
    ) -> list[dict[str, object]]:
        """Sums over the requests of ``project_id`` made in [start, end), one row per group (UTC days)."""
        groups: list[ColumnElement[object]] = [
            self._day().label("day") if name == "day" else USAGE_GROUPS[name].label(name) for name in group_by
        ]
        metrics = [
            func.count().label("requests"),
            func.sum(case((t.c.status >= 400, 1), else_=0)).label("errors"),
            func.sum(case((t.c.cache.in_(("HIT", "SEMANTIC-HIT")), 1), else_=0)).label("cache_hits"),
            func.sum(t.c.prompt_tokens).label("prompt_tokens"),
            func.sum(t.c.completion_tokens).label("completion_tokens"),
            func.sum(t.c.total_tokens).label("total_tokens"),
            func.sum(t.c.cached_tokens).label("cached_tokens"),
            func.sum(t.c.cost_micro_usd).label("cost_micro_usd"),
            func.sum(t.c.cost_saved_micro_usd).label("cost_saved_micro_usd"),
            func.sum(t.c.charged_micro_usd).label("charged_micro_usd"),
            func.sum(case(((t.c.cost_micro_usd.is_(None)) & (t.c.total_tokens > 0), 1), else_=0)).label(
                "unpriced_requests"
            ),
        ]
        query = (
            select(*groups, *metrics)
            .where(t.c.project_id == project_id, t.c.created_at >= start, t.c.created_at < end)
            .group_by(*groups)
            .order_by(*groups)
        )
        rows = await self._conn.execute(query)
        return [
            {
                name: (int(value or 0) if name in USAGE_METRICS else value)
                for name, value in row._mapping.items()
            }
            for row in rows
        ]

    def _day(self) -> ColumnElement[object]:
        if self._conn.dialect.name == "sqlite":  # stored as naive UTC text: its first ten characters
            return func.substr(t.c.created_at, 1, 10)
        return func.to_char(func.timezone("UTC", t.c.created_at), "YYYY-MM-DD")
