"""The request log and the audit trail as the admin API and the dashboard read them: pages by filters,
one request's trace, and exports streamed page by page (one short transaction per page, never the whole
result in memory), as CSV or JSON Lines."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from sqlalchemy.exc import DBAPIError

from byokgate.admin.services import ControlPlane
from byokgate.domain.entities import AuditEvent, NewAuditEvent, RequestBody, RequestRecord
from byokgate.errors import InvalidRequestError
from byokgate.store.audit import AuditQuery
from byokgate.store.database import Transaction, timed_out
from byokgate.store.projects import DaysSetting
from byokgate.store.requests import RequestQuery

EXPORT_PAGE = 1000
REQUEST_FIELDS = tuple(f.name for f in fields(RequestRecord))
AUDIT_FIELDS = tuple(f.name for f in fields(AuditEvent))


@dataclass(frozen=True, slots=True)
class Trace:
    record: RequestRecord
    key_uses: list[AuditEvent]
    bodies: RequestBody | None


Rows = TypeVar("Rows")


async def _within(
    tx: Transaction, seconds: float | None, what: str, read: Callable[[], Awaitable[Rows]]
) -> Rows:
    """``read()`` under a statement time limit of ``seconds`` (None: none); past it, a refusal that says
    how to narrow the search (a filter few recent rows match walks the project's whole index)."""
    if seconds is not None:
        await tx.time_limit(seconds)
    try:
        return await read()
    except DBAPIError as error:
        if not timed_out(error):
            raise
        raise InvalidRequestError(
            f"Finding these {what} took too long: few recent ones match. Narrow the search with a time "
            "range.",
            code="query_too_slow",
        ) from None


class RequestLog:
    def __init__(self, control: ControlPlane, *, default_retention_days: int) -> None:
        self._control = control
        self.default_retention_days = default_retention_days

    async def retention(self, project_id: str) -> int | None:
        """The project's own request-log retention in days (None: the gateway's default)."""
        async with self._control.store.transaction() as tx:
            await self._control.project_in(tx, project_id)
            return (await tx.projects.log_retention()).get(project_id)

    async def set_retention(self, project_id: str, days: int | None, *, actor: str) -> None:
        await self._set_days(project_id, "log_retention_days", days, actor, "project.log_retention")

    async def page(
        self,
        project_id: str,
        query: RequestQuery,
        *,
        limit: int,
        before: tuple[datetime, str] | None = None,
        time_limit_s: float | None = None,
    ) -> list[RequestRecord]:
        """A page of the project's requests, newest first. With ``time_limit_s``, a search that would take
        longer (filters few recent requests match, on a large log) is refused, saying how to narrow it."""
        async with self._control.store.transaction() as tx:
            await self._control.project_in(tx, project_id)
            return await _within(
                tx,
                time_limit_s,
                "requests",
                lambda: tx.requests.list_for_project(project_id, limit=limit, before=before, query=query),
            )

    async def audit_page(
        self,
        project_id: str,
        query: AuditQuery,
        *,
        limit: int,
        before_id: int | None = None,
        time_limit_s: float | None = None,
    ) -> list[AuditEvent]:
        """A page of the project's audit events, newest first; ``time_limit_s`` as for ``page``."""
        async with self._control.store.transaction() as tx:
            return await _within(
                tx,
                time_limit_s,
                "audit events",
                lambda: tx.audit.list_for_project(project_id, limit=limit, before_id=before_id, query=query),
            )

    async def trace(self, project_id: str, request_id: str) -> Trace | None:
        """The request's record, the key uses it caused and its bodies if they were kept (None: no such
        request in this project)."""
        async with self._control.store.transaction() as tx:
            await self._control.project_in(tx, project_id)
            record = await tx.requests.get(request_id)
            if record is None or record.project_id != project_id:
                return None
            uses = await tx.audit.for_request(project_id, request_id)
            bodies = await tx.bodies.get(project_id, request_id)
        return Trace(record, uses, bodies)

    async def bodies_days(self, project_id: str) -> int | None:
        async with self._control.store.transaction() as tx:
            await self._control.project_in(tx, project_id)
            return (await tx.projects.log_bodies()).get(project_id)

    async def set_bodies_days(self, project_id: str, days: int | None, *, actor: str) -> None:
        """Keep the project's request and response bodies ``days`` days from now on (None: stop keeping
        them; those kept go with their retention)."""
        await self._set_days(project_id, "log_bodies_days", days, actor, "project.log_bodies")

    async def _set_days(
        self, project_id: str, setting: DaysSetting, days: int | None, actor: str, action: str
    ) -> None:
        """One of the project's retention settings, audited as ``action``."""
        now = datetime.now(UTC)
        async with self._control.mutation() as tx:
            await self._control.project_in(tx, project_id)
            await tx.projects.set_days(project_id, setting, days, now)
            event = NewAuditEvent(actor, action, project_id, detail={"days": days}, at=now)
            await self._control.changed(tx, event)

    async def export_requests(self, project_id: str, query: RequestQuery, fmt: str) -> AsyncIterator[bytes]:
        await self.page(project_id, query, limit=1)  # a missing project is a 404 before streaming starts
        return _rendered(self._request_pages(project_id, query), REQUEST_FIELDS, fmt)

    async def _request_pages(
        self, project_id: str, query: RequestQuery
    ) -> AsyncIterator[list[dict[str, Any]]]:
        before: tuple[datetime, str] | None = None
        while True:
            records = await self.page(project_id, query, limit=EXPORT_PAGE, before=before)
            if not records:
                return
            yield [asdict(record) for record in records]
            if len(records) < EXPORT_PAGE:
                return
            before = (records[-1].created_at, records[-1].id)

    async def export_audit(self, project_id: str, query: AuditQuery, fmt: str) -> AsyncIterator[bytes]:
        async with self._control.store.transaction() as tx:
            await self._control.project_in(tx, project_id)
        return _rendered(self._audit_pages(project_id, query), AUDIT_FIELDS, fmt)

    async def _audit_pages(self, project_id: str, query: AuditQuery) -> AsyncIterator[list[dict[str, Any]]]:
        before: int | None = None
        while True:
            events = await self._control.audit_log(
                project_id, limit=EXPORT_PAGE, before_id=before, query=query
            )
            if not events:
                return
            yield [asdict(event) for event in events]
            if len(events) < EXPORT_PAGE:
                return
            before = events[-1].id


async def _rendered(
    pages: AsyncIterator[list[dict[str, Any]]], columns: Sequence[str], fmt: str
) -> AsyncIterator[bytes]:
    render: Callable[[list[dict[str, Any]]], bytes]
    if fmt == "csv":
        yield _csv_rows([dict(zip(columns, columns, strict=True))], columns)  # the header
        render = lambda rows: _csv_rows(rows, columns)  # noqa: E731
    else:
        render = _json_lines
    async for rows in pages:
        yield render(rows)


def _json_lines(rows: list[dict[str, Any]]) -> bytes:
    return b"".join(
        orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_NAIVE_UTC) for row in rows
    )


def _csv_rows(rows: list[dict[str, Any]], columns: Sequence[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([_cell(row.get(name)) for name in columns])
    return out.getvalue().encode()


_FORMULA = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run a cell starting so


def _cell(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        value = orjson.dumps(value).decode()
    if isinstance(value, str) and value.startswith(_FORMULA):
        return f"'{value}"  # client-sent text (a user agent, a tag) is never a formula in the export
    return "" if value is None else value
