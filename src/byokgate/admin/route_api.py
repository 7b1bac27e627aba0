"""The admin API's route endpoints (``/projects/{id}/routes``); the use cases are ``admin/routes.py``.

Bodies are read by ``domain.routes.route_from``, the one reader the CLI and ``byokgate apply`` use too, so
a bad field gets the same 400 naming it (``targets[1].lane``) whichever way the route came.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from byokgate.admin.params import ProjectId, RouteName
from byokgate.admin.routes import RouteAdmin, RoutePlan, parse_routes
from byokgate.domain.routes import RouteConfig, RouteError, route_from
from byokgate.errors import InvalidRequestError


def add_route_endpoints(router: APIRouter, routes: RouteAdmin, actor: str) -> None:
    @router.get("/projects/{project_id}/routes")
    async def list_routes(project_id: ProjectId) -> dict[str, Any]:
        """The project's routes: requested names or aliases mapped to ordered targets (docs/routing.md)."""
        return {"object": "list", "data": [_out(route) for route in await routes.list(project_id)]}

    @router.put("/projects/{project_id}/routes/{name:path}")
    async def put_route(
        project_id: ProjectId,
        name: RouteName,
        body: Annotated[dict[str, Any], Body(description="A route (docs/routing.md, Routes)")],
    ) -> dict[str, Any]:
        """Create or replace one route; a target the project cannot be served by is refused."""
        if "name" in body and body["name"] != name:
            raise InvalidRequestError("name: differs from the route name in the path", param="name")
        try:
            route = route_from(body, name)
        except RouteError as exc:
            raise InvalidRequestError(f"{exc.field}: {exc.message}", param=exc.field) from None
        return _out(await routes.put(project_id, route, actor=actor))

    @router.delete("/projects/{project_id}/routes/{name:path}", status_code=204)
    async def delete_route(project_id: ProjectId, name: RouteName) -> Response:
        await routes.delete(project_id, name, actor=actor)
        return Response(status_code=204)

    @router.put("/projects/{project_id}/routes")
    async def apply_routes(
        project_id: ProjectId,
        body: Annotated[dict[str, Any], Body(description='{"routes": [route, ...]}')],
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Make the project's routes exactly ``routes`` (``?dry_run=true``: only say what would change)."""
        unknown = sorted(set(body) - {"routes"})
        if unknown:
            raise InvalidRequestError(f"{unknown[0]}: unknown field (known: routes)", param=unknown[0])
        plan = await routes.apply(project_id, parse_routes(body.get("routes")), actor=actor, dry_run=dry_run)
        return plan_out(plan, dry_run)


def _out(route: RouteConfig) -> dict[str, Any]:
    return {"object": "route", **route.as_json()}


def plan_out(plan: RoutePlan, dry_run: bool) -> dict[str, Any]:
    return {
        "object": "routes.apply",
        "dry_run": dry_run,
        "created": plan.created,
        "replaced": plan.replaced,
        "deleted": plan.deleted,
        "unchanged": plan.unchanged,
    }
