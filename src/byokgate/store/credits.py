"""Platform credits: the append-only ledger and each project's account, moved together in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from byokgate.domain.entities import CreditAccount, CreditEntry
from byokgate.store.bulk import BulkInsert
from byokgate.store.tables import credit_accounts as accounts
from byokgate.store.tables import credit_ledger as ledger

_INSERT = BulkInsert(ledger, ("project_id", "at", "kind", "amount_micro_usd", "request_id", "note"))


class CreditRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def account(self, project_id: str) -> CreditAccount:
        row = (await self._conn.execute(select(accounts).where(accounts.c.project_id == project_id))).first()
        return CreditAccount(row.granted_micro_usd, row.charged_micro_usd) if row else CreditAccount()

    async def all_accounts(self) -> dict[str, CreditAccount]:
        rows = await self._conn.execute(select(accounts))
        return {row.project_id: CreditAccount(row.granted_micro_usd, row.charged_micro_usd) for row in rows}

    async def record(self, entries: Sequence[CreditEntry], now: datetime) -> None:
        """Append ``entries`` and move each project's totals by as much, in the caller's transaction."""
        if not entries:
            return
        await _INSERT.run(
            self._conn,
            [(e.project_id, e.at, e.kind, e.amount_micro_usd, e.request_id, e.note) for e in entries],
        )
        totals: dict[str, tuple[int, int]] = {}
        for e in entries:
            granted, charged = totals.get(e.project_id, (0, 0))
            if e.amount_micro_usd >= 0:
                granted += e.amount_micro_usd
            else:
                charged -= e.amount_micro_usd
            totals[e.project_id] = (granted, charged)
        for project_id, (granted, charged) in totals.items():
            moved = await self._conn.execute(
                update(accounts)
                .where(accounts.c.project_id == project_id)
                .values(
                    granted_micro_usd=accounts.c.granted_micro_usd + granted,
                    charged_micro_usd=accounts.c.charged_micro_usd + charged,
                    updated_at=now,
                )
            )
            if moved.rowcount == 0:
                await self._conn.execute(
                    insert(accounts).values(
                        project_id=project_id,
                        granted_micro_usd=granted,
                        charged_micro_usd=charged,
                        updated_at=now,
                    )
                )

    async def entries(
        self, project_id: str, *, limit: int, before_id: int | None = None
    ) -> list[CreditEntry]:
        query = (
            select(ledger).where(ledger.c.project_id == project_id).order_by(ledger.c.id.desc()).limit(limit)
        )
        if before_id is not None:
            query = query.where(ledger.c.id < before_id)
        return [
            CreditEntry(r.project_id, r.kind, r.amount_micro_usd, r.at, r.request_id, r.note, r.id)
            for r in await self._conn.execute(query)
        ]
