"""Rate limits and budgets per project ("project" scope) and per project key (the key id as scope)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from byokgate.domain.entities import Limits
from byokgate.store.tables import project_limits as t


def _limits(row: Any) -> Limits:
    return Limits(row.rpm, row.tpm, row.budget_micro_usd, row.budget_period, row.soft_pct)


class LimitsRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, project_id: str, scope: str) -> Limits | None:
        query = select(t).where(t.c.project_id == project_id, t.c.scope == scope)
        row = (await self._conn.execute(query)).first()
        return _limits(row) if row else None

    async def put(self, project_id: str, scope: str, limits: Limits | None, now: datetime) -> None:
        """Set (or with None / empty limits, remove) the limits of one scope."""
        await self._conn.execute(delete(t).where(t.c.project_id == project_id, t.c.scope == scope))
        if limits is not None and not limits.empty:
            await self._conn.execute(
                insert(t).values(
                    project_id=project_id,
                    scope=scope,
                    rpm=limits.rpm,
                    tpm=limits.tpm,
                    budget_micro_usd=limits.budget_micro_usd,
                    budget_period=limits.budget_period,
                    soft_pct=limits.soft_pct,
                    updated_at=now,
                )
            )

    async def all(self) -> dict[tuple[str, str], Limits]:
        rows = await self._conn.execute(select(t))
        return {(row.project_id, row.scope): _limits(row) for row in rows}
