"""The admin API's request-log and audit-trail endpoints: filtered pages with cursors, one request's trace,
and streamed exports (CSV or JSON Lines). The use cases are ``admin/request_log.py``."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import Field

from byokgate.admin.params import ProjectId
from byokgate.admin.request_log import RequestLog
from byokgate.admin.request_schemas import BodiesOut, RequestList, RequestOut, RequestTrace
from byokgate.admin.schemas import AuditEventOut, StrictBody
from byokgate.errors import InvalidRequestError, NotFoundError
from byokgate.store.audit import AuditQuery
from byokgate.store.requests import STATUS_CLASSES, RequestQuery

Format = Literal["csv", "jsonl"]
_MEDIA = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
_STATUS = re.compile(r"[1-5][0-9][0-9]")
_CURSOR_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_Text = Annotated[str | None, Query(max_length=200)]


def request_query(
    start: Annotated[
        datetime | None, Query(description="created at or after (ISO 8601, with a zone)")
    ] = None,
    end: Annotated[datetime | None, Query(description="created before")] = None,
    model: Annotated[str | None, Query(max_length=200, description="requested or routed model")] = None,
    provider: _Text = None,
    lane: Annotated[Literal["byok", "pooled"] | None, Query()] = None,
    status: Annotated[
        str | None, Query(max_length=8, description='a code ("429"), a class ("5xx"), "error" or "ok"')
    ] = None,
    error_type: Annotated[str | None, Query(max_length=64, description="an error type or code")] = None,
    cache: Annotated[Literal["HIT", "SEMANTIC-HIT", "MISS", "REFRESH", "BYPASS"] | None, Query()] = None,
    api_key: Annotated[str | None, Query(max_length=64, description="a project API key's id")] = None,
    user: Annotated[str | None, Query(max_length=256, description="the client's user tag")] = None,
) -> RequestQuery:
    _zoned(start=start, end=end)
    if (
        status is not None
        and status not in ("error", "ok", *STATUS_CLASSES)
        and not _STATUS.fullmatch(status)
    ):
        raise InvalidRequestError(
            'status takes a code ("429"), a class ("5xx"), "error" or "ok"', param="status"
        )
    return RequestQuery(
        start=start,
        end=end,
        model=model,
        provider=provider,
        lane=lane,
        status=status,
        error_type=error_type,
        cache=cache,
        api_key_id=api_key,
        user=user,
    )


Filters = Annotated[RequestQuery, Depends(request_query)]
_Id = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_:.-]+$")]


def audit_query(
    start: Annotated[datetime | None, Query(description="at or after (ISO 8601, with a zone)")] = None,
    end: Annotated[datetime | None, Query(description="before")] = None,
    action: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")] = None,
    outcome: Annotated[str | None, Query(max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")] = None,
    provider: Annotated[str | None, Query(max_length=32)] = None,
    provider_key: Annotated[_Id, Query(description="a provider key's (credential's) id")] = None,
    api_key: Annotated[_Id, Query(description="a project API key's id")] = None,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    request_id: _Id = None,
) -> AuditQuery:
    _zoned(start=start, end=end)
    return AuditQuery(
        start=start,
        end=end,
        action=action,
        outcome=outcome,
        provider=provider,
        credential_id=provider_key,
        api_key_id=api_key,
        actor=actor,
        request_id=request_id,
    )


def _zoned(**moments: datetime | None) -> None:
    for name, moment in moments.items():
        if moment is not None and moment.tzinfo is None:
            raise InvalidRequestError(f"{name} needs a time zone (e.g. 2026-12-01T00:00:00Z)", param=name)


AuditFilters = Annotated[AuditQuery, Depends(audit_query)]


class RetentionBody(StrictBody):
    days: int | None = Field(ge=1, le=3650, description="days to keep request records; null: the default")


class BodiesBody(StrictBody):
    days: int | None = Field(ge=1, le=30, description="days to keep request bodies; null: do not keep them")


def add_request_endpoints(router: APIRouter, log: RequestLog, actor: str) -> None:
    @router.get("/projects/{project_id}/requests", response_model=RequestList)
    async def request_log(
        project_id: ProjectId,
        query: Filters,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        before: Annotated[str | None, Query(max_length=128, description="cursor from next_before")] = None,
    ) -> RequestList:
        """The project's requests, newest first, by filters; page with ``next_before``."""
        cursor = parse_cursor(before) if before else None
        records = await log.page(project_id, query, limit=limit + 1, before=cursor)
        page = records[:limit]
        more = len(records) > limit
        return RequestList(
            data=[RequestOut.of(r) for r in page],
            has_more=more,
            next_before=f"{page[-1].created_at.isoformat()}|{page[-1].id}" if more else None,
        )

    @router.get("/projects/{project_id}/requests/export")
    async def export_requests(
        project_id: ProjectId, query: Filters, format: Format = "jsonl"
    ) -> StreamingResponse:
        """Every request the filters match, newest first, streamed as CSV or JSON Lines."""
        body = await log.export_requests(project_id, query, format)
        return download(body, format, f"requests-{project_id}")

    @router.get("/projects/{project_id}/requests/{request_id}", response_model=RequestTrace)
    async def request_trace(
        project_id: ProjectId,
        request_id: Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")],
    ) -> RequestTrace:
        """One request's trace: its record, its attempts on a timeline, the key uses it caused."""
        found = await log.trace(project_id, request_id)
        if found is None:
            raise NotFoundError(f"no request {request_id!r} in this project", code="request_not_found")
        record, bodies = found.record, found.bodies
        return RequestTrace(
            request=RequestOut.of(record),
            timeline=timeline(record.attempts, record.latency_ms, record.upstream_ms, record.provider),
            key_uses=[AuditEventOut.of(use) for use in found.key_uses],
            bodies=None
            if bodies is None
            else BodiesOut(request=bodies.request, response=bodies.response, truncated=bodies.truncated),
        )

    @router.get("/projects/{project_id}/log-retention")
    async def get_retention(project_id: ProjectId) -> dict[str, Any]:
        """How many days the project's request records are kept (``days`` null: the gateway's default)."""
        days = await log.retention(project_id)
        return {"object": "log_retention", "days": days, "effective_days": days or log.default_retention_days}

    @router.put("/projects/{project_id}/log-retention")
    async def put_retention(project_id: ProjectId, body: RetentionBody) -> dict[str, Any]:
        """Keep the project's request records ``days`` days (null: the gateway's default). Usage reports
        are kept whatever this says."""
        await log.set_retention(project_id, body.days, actor=actor)
        return await get_retention(project_id)

    @router.get("/projects/{project_id}/log-bodies")
    async def get_bodies(project_id: ProjectId) -> dict[str, Any]:
        """Whether the project keeps its requests' bodies, and for how many days (``days`` null: not kept,
        the default). Kept bodies are redacted of credentials and cut at the size cap."""
        days = await log.bodies_days(project_id)
        return {"object": "log_bodies", "enabled": days is not None, "days": days}

    @router.put("/projects/{project_id}/log-bodies")
    async def put_bodies(project_id: ProjectId, body: BodiesBody) -> dict[str, Any]:
        """Keep the project's request and response bodies ``days`` days (at most 30; never longer than
        its records), or stop keeping them (null)."""
        await log.set_bodies_days(project_id, body.days, actor=actor)
        return await get_bodies(project_id)

    @router.get("/projects/{project_id}/audit/export")
    async def export_audit(
        project_id: ProjectId, query: AuditFilters, format: Format = "jsonl"
    ) -> StreamingResponse:
        """The project's audit events the filters match, newest first, streamed as CSV or JSON Lines."""
        body = await log.export_audit(project_id, query, format)
        return download(body, format, f"audit-{project_id}")


def timeline(
    attempts: list[dict[str, object]] | None,
    latency_ms: float,
    upstream_ms: float | None,
    provider: str | None,
) -> list[dict[str, object]]:
    """The attempts in order with their start and end (ms from the request's arrival, where recorded)."""
    if not attempts:
        if provider is None:
            return []
        return [{"provider": provider, "action": "answered", "ms": upstream_ms, "end_ms": latency_ms}]
    steps = []
    for attempt in attempts:
        at = attempt.get("at_ms")
        ms = attempt.get("ms")
        end = at + ms if isinstance(at, (int, float)) and isinstance(ms, (int, float)) else None
        steps.append({**attempt, "start_ms": at, "end_ms": end})
    return steps


def download(body: object, format: Format, name: str) -> StreamingResponse:
    return StreamingResponse(
        body,  # type: ignore[arg-type]
        media_type=_MEDIA[format],
        headers={
            "content-disposition": f'attachment; filename="{name}.{format}"',
            "cache-control": "no-store",
        },
    )


def parse_cursor(value: str) -> tuple[datetime, str]:
    stamp, sep, request_id = value.partition("|")
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        moment = None
    if not sep or moment is None or moment.tzinfo is None or not _CURSOR_ID.fullmatch(request_id):
        raise InvalidRequestError("before must be a next_before value from a previous page", param="before")
    return moment, request_id
