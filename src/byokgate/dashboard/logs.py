"""The request log and the audit trail of a project: filtered pages of 50, newest first, a cursor to the next
page (server-side: the browser never holds more than a page), one request's trace, and links to the same
exports the admin API streams. Read through ``admin/request_log.RequestLog``, as the admin API reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, cast
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from byokgate.admin.request_api import audit_query, download, parse_cursor, request_query
from byokgate.admin.request_log import RequestLog
from byokgate.domain.entities import Project, RequestRecord
from byokgate.errors import ApiError, InvalidRequestError
from byokgate.store.audit import AuditQuery
from byokgate.store.requests import RequestQuery
from byokgate.store.users import Session

if TYPE_CHECKING:
    from byokgate.dashboard.pages import Dashboard

PAGE = 50
REQUEST_FILTERS = (
    "model",
    "provider",
    "lane",
    "status",
    "cache",
    "start",
    "end",
    "error_type",
    "api_key",
    "user",
)
LANES = ("byok", "pooled")
CACHE_STATUSES = ("HIT", "SEMANTIC-HIT", "MISS", "REFRESH", "BYPASS")
AUDIT_FILTERS = ("action", "outcome", "provider", "start", "end", "actor", "api_key", "request_id")
MORE_FILTERS = frozenset({"start", "end", "error_type", "api_key", "user", "actor", "request_id"})
_MAX_FILTER = 200
PAGE_TIME_LIMIT_S = 5.0  # a page never hangs: past this, the search is refused with how to narrow it


class LogPages:
    def __init__(self, dashboard: Dashboard, log: RequestLog) -> None:
        self._dashboard = dashboard
        self._log = log

    @staticmethod
    def _filters(request: Request, names: tuple[str, ...]) -> dict[str, str]:
        return {
            name: value[:_MAX_FILTER]
            for name in names
            if (value := request.query_params.get(name, "").strip())
        }

    async def requests(self, request: Request) -> Response:
        access = await self._dashboard.access(request, request.path_params["project_id"], write=False)
        if isinstance(access, Response):
            return access
        session, project, _ = access
        filters = self._filters(request, REQUEST_FILTERS)
        error, records, following = None, [], None
        try:
            query = _request_query(filters)
            before = request.query_params.get("before")
            cursor = parse_cursor(before) if before else None
            records = await self._log.page(
                project.id, query, limit=PAGE + 1, before=cursor, time_limit_s=PAGE_TIME_LIMIT_S
            )
        except ApiError as problem:
            error = problem.message
        if len(records) > PAGE:
            records = records[:PAGE]
            last = records[-1]
            following = urlencode({**filters, "before": f"{last.created_at.isoformat()}|{last.id}"})
        return await self._listing("requests", session, project, filters, following, error, records=records)

    async def export(self, request: Request) -> Response:
        """The filtered requests or audit events as CSV or JSON Lines, streamed page by page."""
        access = await self._dashboard.access(request, request.path_params["project_id"], write=False)
        if isinstance(access, Response):
            return access
        _, project, _ = access
        fmt = request.query_params.get("format", "csv")
        if fmt not in ("csv", "jsonl") or request.path_params["log"] not in ("requests", "audit"):
            return self._dashboard.not_found()
        try:
            if request.path_params["log"] == "requests":
                query = _request_query(self._filters(request, REQUEST_FILTERS))
                body = await self._log.export_requests(project.id, query, fmt)
            else:
                audit = _audit_query(self._filters(request, AUDIT_FILTERS))
                body = await self._log.export_audit(project.id, audit, fmt)
        except ApiError:
            return self._dashboard.not_found()
        name = f"{request.path_params['log']}-{project.id}"
        return download(body, cast(Literal["csv", "jsonl"], fmt), name)

    async def trace(self, request: Request) -> Response:
        access = await self._dashboard.access(request, request.path_params["project_id"], write=False)
        if isinstance(access, Response):
            return access
        session, project, _ = access
        found = await self._log.trace(project.id, request.path_params["request_id"][:64])
        if found is None:
            return self._dashboard.not_found()
        return self._dashboard.render_project(
            "trace.html",
            session,
            project,
            "requests",
            record=found.record,
            uses=found.key_uses,
            timeline=timeline(found.record),
        )

    async def audit(self, request: Request) -> Response:
        access = await self._dashboard.access(request, request.path_params["project_id"], write=False)
        if isinstance(access, Response):
            return access
        session, project, _ = access
        filters = self._filters(request, AUDIT_FILTERS)
        error, events, following = None, [], None
        before = request.query_params.get("before", "")
        try:
            query = _audit_query(filters)
            if before and not before.isdigit():
                raise InvalidRequestError("That page link is not valid.")
            events = await self._log.audit_page(
                project.id,
                query,
                limit=PAGE + 1,
                before_id=int(before) if before else None,
                time_limit_s=PAGE_TIME_LIMIT_S,
            )
        except ApiError as problem:
            error = problem.message
        if len(events) > PAGE:
            events = events[:PAGE]
            following = urlencode({**filters, "before": events[-1].id})
        return await self._listing("audit", session, project, filters, following, error, events=events)

    async def _listing(
        self,
        log: str,
        session: Session,
        project: Project,
        filters: dict[str, str],
        following: str | None,
        error: str | None,
        **rows: object,
    ) -> Response:
        """The requests or audit page: its rows, the filters (and the project's API keys to pick one),
        the next page's link and the exports'."""
        return self._dashboard.render_project(
            f"{log}.html",
            session,
            project,
            log,
            400 if error else 200,
            filters=filters,
            more=bool(MORE_FILTERS & set(filters)),
            api_keys=await self._dashboard.control.list_api_keys(project.id),
            following=following,
            export=urlencode(filters),
            error=error,
            **rows,
        )


@dataclass(frozen=True, slots=True)
class Bar:
    """One attempt on the trace's timeline: where it starts and how long it lasts, in thousandths of the
    request's whole time (an SVG's own coordinates: no inline style, which the pages' policy forbids)."""

    label: str
    x: int
    width: int
    failed: bool


def timeline(record: RequestRecord) -> list[Bar]:
    """The request's attempts on one time axis (the request's own latency, or the last attempt's end)."""
    attempts = record.attempts or (
        [
            {
                "provider": record.provider,
                "model": record.resolved_model,
                "status": record.status,
                "ms": record.upstream_ms,
                "at_ms": max(record.latency_ms - record.upstream_ms, 0.0),
            }
        ]
        if record.provider and record.upstream_ms is not None and record.cache not in ("HIT", "SEMANTIC-HIT")
        else []
    )
    spans = [(float(a.get("at_ms") or 0.0), float(a.get("ms") or 0.0), a) for a in attempts]
    total = max([record.latency_ms, *(start + length for start, length, _ in spans)]) or 1.0
    bars = []
    for start, length, attempt in spans:
        status = attempt.get("status")
        label = (
            f"{attempt.get('provider')} {attempt.get('model')}: {status}, {length:.1f} ms from {start:.1f} ms"
        )
        x = min(999, round(start / total * 1000))
        width = max(2, min(1000 - x, round(length / total * 1000)))
        bars.append(Bar(label, x, width, not isinstance(status, int) or status >= 400))
    return bars


def _request_query(filters: dict[str, str]) -> RequestQuery:
    """The admin API's request filters (its checks of a status) from the page's form; a lane or a cache
    status outside the form's choices is refused here."""
    lane, cache = filters.get("lane"), filters.get("cache")
    if lane not in (None, *LANES):
        raise InvalidRequestError("Choose a lane from the list.")
    if cache not in (None, *CACHE_STATUSES):
        raise InvalidRequestError("Choose a cache status from the list.")
    return request_query(
        start=_moment(filters, "start"),
        end=_moment(filters, "end"),
        model=filters.get("model"),
        provider=filters.get("provider"),
        lane=cast(Literal["byok", "pooled"] | None, lane),
        status=filters.get("status"),
        error_type=filters.get("error_type"),
        cache=cast(Literal["HIT", "SEMANTIC-HIT", "MISS", "REFRESH", "BYPASS"] | None, cache),
        api_key=filters.get("api_key"),
        user=filters.get("user"),
    )


def _audit_query(filters: dict[str, str]) -> AuditQuery:
    return audit_query(
        start=_moment(filters, "start"),
        end=_moment(filters, "end"),
        action=filters.get("action"),
        outcome=filters.get("outcome"),
        provider=filters.get("provider"),
        provider_key=None,
        api_key=filters.get("api_key"),
        actor=filters.get("actor"),
        request_id=filters.get("request_id"),
    )


def _moment(filters: dict[str, str], name: str) -> datetime | None:
    """A time filter from the form's ``datetime-local`` field, read as UTC (the pages show UTC)."""
    text = filters.get(name)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequestError(
            f"Give the {'from' if name == 'start' else 'to'} time like 2026-12-07T09:30."
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
