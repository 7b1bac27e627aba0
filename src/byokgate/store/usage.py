"""Daily usage aggregates: added to as request records land (same transaction), read by usage reports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from byokgate.domain.entities import RequestRecord
from byokgate.store.tables import USAGE_SUMS
from byokgate.store.tables import usage_daily as t

_KEY = ("day", "project_id", "api_key_id", "provider", "model", "lane")
_CACHE_HITS = ("HIT", "SEMANTIC-HIT")

# What a usage report can be grouped by, and the aggregate's column behind each.
USAGE_GROUPS = {
    "day": t.c.day,
    "model": t.c.model,
    "provider": t.c.provider,
    "lane": t.c.lane,
    "api_key": t.c.api_key_id,
}
USAGE_METRICS = USAGE_SUMS

Group = tuple[str, str, str, str, str, str]


def aggregate(records: Sequence[RequestRecord]) -> dict[Group, list[int]]:
    """The records' sums per (day, project, project key, provider, model, lane); "" for none."""
    sums: dict[Group, list[int]] = {}
    for r in records:
        key = (
            r.created_at.strftime("%Y-%m-%d"),
            r.project_id,
            r.api_key_id,
            r.provider or "",
            r.resolved_model or "",
            r.lane or "",
        )
        row = sums.get(key)
        if row is None:
            row = sums[key] = [0] * len(USAGE_SUMS)
        row[0] += 1
        row[1] += r.status >= 400
        row[2] += r.cache in _CACHE_HITS
        row[3] += r.prompt_tokens or 0
        row[4] += r.completion_tokens or 0
        row[5] += r.total_tokens or 0
        row[6] += r.cached_tokens or 0
        row[7] += r.cost_micro_usd or 0
        row[8] += r.cost_saved_micro_usd or 0
        row[9] += r.charged_micro_usd or 0
        row[10] += r.cost_micro_usd is None and (r.total_tokens or 0) > 0
    return sums


class UsageRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, records: Sequence[RequestRecord]) -> None:
        """Add the records to their days' sums (an upsert per group)."""
        sums = aggregate(records)
        if not sums:
            return
        rows = [
            dict(zip(_KEY, key, strict=True)) | dict(zip(USAGE_SUMS, row, strict=True))
            for key, row in sums.items()
        ]
        dialect = postgresql if self._conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(t)
        upsert = statement.on_conflict_do_update(
            index_elements=list(_KEY),
            set_={name: t.c[name] + statement.excluded[name] for name in USAGE_SUMS},
        )
        await self._conn.execute(upsert, rows)

    async def report(
        self, project_id: str, start: date, end: date, group_by: Sequence[str]
    ) -> list[dict[str, object]]:
        """Sums over the days from ``start`` to ``end`` (included), one row per group; none is None."""
        groups: list[ColumnElement[object]] = [USAGE_GROUPS[name].label(name) for name in group_by]
        metrics = [func.sum(t.c[name]).label(name) for name in USAGE_SUMS]
        query = (
            select(*groups, *metrics)
            .where(t.c.project_id == project_id, t.c.day >= start.isoformat(), t.c.day <= end.isoformat())
            .group_by(*groups)
            .order_by(*groups)
        )
        return [
            {
                name: (int(value or 0) if name in USAGE_SUMS else (value or None))
                for name, value in row._mapping.items()
            }
            for row in await self._conn.execute(query)
        ]
