"""The append-only audit trail: inserts and reads, never updates or deletes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, insert, select
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


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters of the audit trail (each one optional; all given must hold)."""

    start: datetime | None = None  # at or after
    end: datetime | None = None  # before
    action: str | None = None  # e.g. provider_key.use
    outcome: str | None = None  # e.g. ok, error, auth_failed, invalid
    provider: str | None = None
    credential_id: str | None = None  # a provider key's id
    api_key_id: str | None = None  # a project API key's id
    actor: str | None = None  # e.g. admin-api, cli, api_key:key_...
    request_id: str | None = None

    def where(self, project_id: str) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = [t.c.project_id == project_id]
        if self.start is not None:
            clauses.append(t.c.at >= self.start)
        if self.end is not None:
            clauses.append(t.c.at < self.end)
        for column, value in (
            (t.c.action, self.action),
            (t.c.outcome, self.outcome),
            (t.c.provider, self.provider),
            (t.c.credential_id, self.credential_id),
            (t.c.api_key_id, self.api_key_id),
            (t.c.actor, self.actor),
            (t.c.request_id, self.request_id),
        ):
            if value is not None:
                clauses.append(column == value)
        return clauses


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
        self, project_id: str, *, limit: int, before_id: int | None = None, query: AuditQuery | None = None
    ) -> list[AuditEvent]:
        """Newest first, by filters; page with ``before_id`` = the last id of the previous page."""
        statement = (
            select(t).where(*(query or AuditQuery()).where(project_id)).order_by(t.c.id.desc()).limit(limit)
        )
        if before_id is not None:
            statement = statement.where(t.c.id < before_id)
        rows = await self._conn.execute(statement)
        return [AuditEvent(**row._mapping) for row in rows]
