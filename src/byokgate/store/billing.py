"""Plan and billing policy per project (one row per project that left the defaults)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from byokgate.domain.entities import DEFAULT_BILLING, BillingSettings
from byokgate.store.tables import project_billing as t


class BillingRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, project_id: str) -> BillingSettings:
        row = (await self._conn.execute(select(t).where(t.c.project_id == project_id))).first()
        return BillingSettings(row.plan, row.policy) if row else DEFAULT_BILLING

    async def put(self, project_id: str, settings: BillingSettings, now: datetime) -> None:
        await self._conn.execute(delete(t).where(t.c.project_id == project_id))
        await self._conn.execute(
            insert(t).values(
                project_id=project_id, plan=settings.plan, policy=settings.policy, updated_at=now
            )
        )

    async def all(self) -> dict[str, BillingSettings]:
        rows = await self._conn.execute(select(t))
        return {row.project_id: BillingSettings(row.plan, row.policy) for row in rows}
