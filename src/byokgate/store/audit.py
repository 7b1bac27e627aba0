"""The append-only audit trail: inserts and reads, never updates or deletes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from byokgate.domain.entities import AuditEvent, NewAuditEvent
from byokgate.store.bulk import BulkInsert
from byokgate.store.tables import audit_events as t


def _values(event: NewAuditEvent) -> dict[str, object]:
    return {
        "at": event.at or datetime.now(UTC),
        "actor": event.actor,
        "action": event.action,
        "project_id": event.project_id,
        "provider": event.provider,
        "credential_id": event.credential_id,
        "api_key_id": event.api_key_id,
        "request_id": event.request_id,
        "outcome": event.outcome,
        "detail": event.detail,
    }


_INSERT = BulkInsert(t, _values(NewAuditEvent("", "", None)).keys())


class AuditRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def append(self, event: NewAuditEvent) -> None:
        await self._conn.execute(insert(t).values(**_values(event)))

    async def append_many(self, events: Sequence[NewAuditEvent]) -> None:
        if events:
            await _INSERT.run(self._conn, [tuple(_values(event).values()) for event in events])

    async def for_request(self, project_id: str, request_id: str) -> list[AuditEvent]:
        """The events one request caused (its key uses, cooldowns), oldest first."""
        query = select(t).where(t.c.project_id == project_id, t.c.request_id == request_id).order_by(t.c.id)
        return [AuditEvent(**row._mapping) for row in await self._conn.execute(query)]

    async def list_for_project(
        self, project_id: str, *, limit: int, before_id: int | None = None, action: str | None = None
    ) -> list[AuditEvent]:
        """Newest first; page with ``before_id`` = the last id of the previous page."""
        query = select(t).where(t.c.project_id == project_id).order_by(t.c.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(t.c.id < before_id)
        if action is not None:
            query = query.where(t.c.action == action)
        rows = await self._conn.execute(query)
        return [AuditEvent(**row._mapping) for row in rows]
