"""The JSON admin API under /admin/v1, guarded by the admin bearer token."""

from __future__ import annotations

import hmac
import logging
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from byokgate.admin.health_api import add_health_endpoints
from byokgate.admin.key_api import add_key_endpoints
from byokgate.admin.middleware import BodySizeLimit
from byokgate.admin.params import ProjectId
from byokgate.admin.request_api import AuditFilters, add_request_endpoints
from byokgate.admin.request_log import RequestLog
from byokgate.admin.route_api import add_route_endpoints
from byokgate.admin.routes import RouteAdmin
from byokgate.admin.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyOut,
    AuditEventOut,
    AuditList,
    BillingBody,
    BillingOut,
    CachePurged,
    CacheSettingsBody,
    CacheSettingsOut,
    CreditsBody,
    CreditsOut,
    ErrorBody,
    LimitsBody,
    LimitsOut,
    ProjectCreate,
    ProjectCreated,
    ProjectList,
    ProjectOut,
    ProjectUpdate,
    UsageReport,
)
from byokgate.admin.services import ControlPlane
from byokgate.admin.usage import as_csv, grouping, period, with_usd
from byokgate.domain.entities import PROJECT_SCOPE, BillingSettings, Limits
from byokgate.domain.secret import Secret
from byokgate.errors import (
    ApiError,
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    UnprocessableEntityError,
    advice_headers,
)

log = logging.getLogger(__name__)

PREFIX = "/admin/v1"
ACTOR = "admin-api"
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        400: "Invalid request (malformed JSON, bad value, unknown provider)",
        401: "Missing or wrong admin token",
        404: "No such project, key or provider key",
        413: "Request body too large",
        415: "Body is not sent as application/json",
        422: "Body or parameters of the wrong shape or type",
    }.items()
}


def _validation_error(exc: RequestValidationError) -> ApiError:
    """Describe what is wrong without echoing any submitted value (it may be a key)."""
    errors = exc.errors()
    first = errors[0] if errors else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("body",)]
    param = ".".join(location) or None
    if first.get("type") == "json_invalid":
        return InvalidRequestError("request body is not valid JSON", code="invalid_json")
    message = (
        f"{param}: {first.get('msg', 'invalid value')}" if param else str(first.get("msg", "invalid body"))
    )
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem(s))"
    return UnprocessableEntityError(message, param=param)


def _json_error(error: ApiError) -> JSONResponse:
    headers = {name.decode(): value.decode() for name, value in advice_headers(error)}
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


def build_admin_api(
    control: ControlPlane, admin_token: Secret, max_body_bytes: int, *, retention_days: int = 30
) -> FastAPI:
    api = FastAPI(
        title="byokgate admin API",
        version="1",
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
    )
    token = admin_token.reveal().encode()

    async def require_admin(request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not presented:
            raise AuthenticationError(
                "missing admin token: send Authorization: Bearer <BYOKGATE_ADMIN_TOKEN>"
            )
        if not hmac.compare_digest(presented.strip().encode(), token):
            raise AuthenticationError("invalid admin token", code="invalid_admin_token")

    @api.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return _json_error(exc)

    @api.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _json_error(_validation_error(exc))

    @api.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        error = (
            NotFoundError("no such admin endpoint", code="unknown_endpoint")
            if exc.status_code == 404
            else InvalidRequestError(str(exc.detail), code=f"http_{exc.status_code}")
        )
        response = _json_error(error)
        response.status_code = exc.status_code
        return response

    @api.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("admin API internal error: %s", type(exc).__name__)
        body = {"error": {"message": "internal error", "type": "api_error", "param": None, "code": None}}
        return JSONResponse(body, status_code=500)

    def now() -> datetime:
        return datetime.now(UTC)

    router = APIRouter(prefix=PREFIX, dependencies=[Depends(require_admin)], responses=_ERRORS)

    @router.post("/projects", status_code=201, response_model=ProjectCreated)
    async def create_project(body: ProjectCreate) -> ProjectCreated:
        created = await control.create_project(body.name, actor=ACTOR)
        view = ProjectOut.of(created.project)
        return ProjectCreated(
            **view.model_dump(), api_key=created.api_key.plaintext.reveal(), api_key_id=created.api_key.key.id
        )

    @router.get("/projects", response_model=ProjectList)
    async def list_projects(
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        after: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")] = None,
    ) -> ProjectList:
        found = await control.list_projects(limit=limit + 1, after=after)
        page = found[:limit]
        return ProjectList(
            data=[ProjectOut.of(p) for p in page],
            has_more=len(found) > limit,
            next_after=page[-1].id if len(found) > limit else None,
        )

    @router.get("/projects/{project_id}", response_model=ProjectOut)
    async def get_project(project_id: ProjectId) -> ProjectOut:
        return ProjectOut.of(await control.get_project(project_id))

    @router.patch("/projects/{project_id}", response_model=ProjectOut)
    async def rename_project(project_id: ProjectId, body: ProjectUpdate) -> ProjectOut:
        return ProjectOut.of(await control.rename_project(project_id, body.name, actor=ACTOR))

    @router.delete("/projects/{project_id}", status_code=204)
    async def delete_project(project_id: ProjectId) -> Response:
        await control.delete_project(project_id, actor=ACTOR)
        return Response(status_code=204)

    @router.post("/projects/{project_id}/api-keys", status_code=201, response_model=ApiKeyCreated)
    async def create_api_key(project_id: ProjectId, body: ApiKeyCreate) -> ApiKeyCreated:
        created = await control.create_api_key(
            project_id, name=body.name, expires_at=body.expires_at, actor=ACTOR
        )
        view = ApiKeyOut.of(created.key, now())
        return ApiKeyCreated(**view.model_dump(), key=created.plaintext.reveal())

    @router.get("/projects/{project_id}/api-keys", response_model=ApiKeyList)
    async def list_api_keys(project_id: ProjectId) -> ApiKeyList:
        keys = await control.list_api_keys(project_id)
        moment = now()
        return ApiKeyList(data=[ApiKeyOut.of(key, moment) for key in keys])

    @router.delete("/projects/{project_id}/api-keys/{key_id}", status_code=204)
    async def revoke_api_key(project_id: ProjectId, key_id: ProjectId) -> Response:
        await control.revoke_api_key(project_id, key_id, actor=ACTOR)
        return Response(status_code=204)

    @router.get("/projects/{project_id}/cache", response_model=CacheSettingsOut)
    async def get_cache_settings(project_id: ProjectId) -> CacheSettingsOut:
        return CacheSettingsOut.of(await control.cache_settings(project_id))

    @router.put("/projects/{project_id}/cache", response_model=CacheSettingsOut)
    async def set_cache_settings(project_id: ProjectId, body: CacheSettingsBody) -> CacheSettingsOut:
        settings = body.settings()
        return CacheSettingsOut.of(await control.set_cache_settings(project_id, settings, actor=ACTOR))

    @router.delete("/projects/{project_id}/cache/entries", response_model=CachePurged)
    async def purge_cache(project_id: ProjectId) -> CachePurged:
        return CachePurged(purged=await control.purge_cache(project_id, actor=ACTOR))

    def billing_out(settings: BillingSettings) -> BillingOut:
        plan = control.plans.get(settings.plan)
        return BillingOut(
            plan=plan.name,
            plan_title=plan.title,
            pooled_tiers=sorted(plan.pooled_tiers),
            included_tokens=plan.included_tokens,
            period=plan.period,
            policy=settings.policy,
        )

    @router.get("/projects/{project_id}/billing", response_model=BillingOut)
    async def get_billing(project_id: ProjectId) -> BillingOut:
        return billing_out(await control.billing(project_id))

    @router.put("/projects/{project_id}/billing", response_model=BillingOut)
    async def set_billing(project_id: ProjectId, body: BillingBody) -> BillingOut:
        updated = await control.set_billing(project_id, plan=body.plan, policy=body.policy, actor=ACTOR)
        return billing_out(updated)

    @router.get("/projects/{project_id}/credits", response_model=CreditsOut)
    async def get_credits(
        project_id: ProjectId, limit: Annotated[int, Query(ge=1, le=500)] = 50
    ) -> CreditsOut:
        account, entries = await control.credits(project_id, limit=limit)
        return CreditsOut.of(account, entries)

    @router.post("/projects/{project_id}/credits", status_code=201, response_model=CreditsOut)
    async def add_credits(project_id: ProjectId, body: CreditsBody) -> CreditsOut:
        amount = int(body.amount_usd * 1_000_000)
        await control.add_credits(project_id, body.kind, amount, body.note, actor=ACTOR)
        account, entries = await control.credits(project_id, limit=1)
        return CreditsOut.of(account, entries)

    @router.get("/projects/{project_id}/limits", response_model=LimitsOut)
    async def get_limits(project_id: ProjectId) -> LimitsOut:
        return _limits_out(PROJECT_SCOPE, await control.limits(project_id))

    @router.put("/projects/{project_id}/limits", response_model=LimitsOut)
    async def set_limits(project_id: ProjectId, body: LimitsBody) -> LimitsOut:
        limits = await control.set_limits(project_id, None, body.limits(), actor=ACTOR)
        return _limits_out(PROJECT_SCOPE, limits)

    @router.delete("/projects/{project_id}/limits", status_code=204)
    async def remove_limits(project_id: ProjectId) -> Response:
        await control.set_limits(project_id, None, None, actor=ACTOR)
        return Response(status_code=204)

    @router.get("/projects/{project_id}/api-keys/{key_id}/limits", response_model=LimitsOut)
    async def get_key_limits(project_id: ProjectId, key_id: ProjectId) -> LimitsOut:
        return _limits_out(key_id, await control.limits(project_id, key_id))

    @router.put("/projects/{project_id}/api-keys/{key_id}/limits", response_model=LimitsOut)
    async def set_key_limits(project_id: ProjectId, key_id: ProjectId, body: LimitsBody) -> LimitsOut:
        return _limits_out(key_id, await control.set_limits(project_id, key_id, body.limits(), actor=ACTOR))

    @router.delete("/projects/{project_id}/api-keys/{key_id}/limits", status_code=204)
    async def remove_key_limits(project_id: ProjectId, key_id: ProjectId) -> Response:
        await control.set_limits(project_id, key_id, None, actor=ACTOR)
        return Response(status_code=204)

    @router.get(
        "/projects/{project_id}/usage",
        response_model=UsageReport,
        responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"}},
    )
    async def usage_report(
        project_id: ProjectId,
        start: Annotated[
            date | None, Query(description="first UTC day (default: the 1st of this month)")
        ] = None,
        end: Annotated[date | None, Query(description="last UTC day, included (default: today)")] = None,
        group_by: Annotated[
            str, Query(max_length=64, description="day, model, provider, lane, api_key")
        ] = "day",
        format: Annotated[Literal["json", "csv"], Query()] = "json",
    ) -> Response | UsageReport:
        first, last = period(start, end)
        groups = grouping(group_by)
        rows = await control.usage(project_id, first, last, groups)
        if format == "csv":
            return Response(as_csv(rows, groups), media_type="text/csv; charset=utf-8")
        return UsageReport(start=first, end=last, group_by=groups, data=[with_usd(row) for row in rows])

    @router.get("/projects/{project_id}/audit", response_model=AuditList)
    async def audit_log(
        project_id: ProjectId,
        query: AuditFilters,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    ) -> AuditList:
        """The project's audit events, newest first, by filters (time, action, outcome, provider, provider
        key, API key, actor, request); page with ``next_before``."""
        events = await control.audit_log(project_id, limit=limit + 1, before_id=before, query=query)
        if not events and not await control.audit_log(project_id, limit=1):
            # A deleted project's trail stays readable; an id that never existed is a 404.
            await control.get_project(project_id)
        page = events[:limit]
        return AuditList(
            data=[AuditEventOut.of(e) for e in page],
            has_more=len(events) > limit,
            next_before=page[-1].id if len(events) > limit else None,
        )

    add_key_endpoints(router, control, ACTOR)
    add_health_endpoints(router, control.breakers)
    add_route_endpoints(router, RouteAdmin(control), ACTOR)
    add_request_endpoints(router, RequestLog(control, default_retention_days=retention_days), ACTOR)
    api.include_router(router)
    api.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    return api


def _limits_out(scope: str, limits: Limits | None) -> LimitsOut:
    if limits is None:
        raise NotFoundError("no limits are set here", code="limits_not_found")
    return LimitsOut.of(scope, limits)
