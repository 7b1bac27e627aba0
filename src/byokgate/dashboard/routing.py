"""Project Settings -> Routing: the project's routes (a requested name or alias -> ordered targets), edited
one at a time as a form, or all at once as YAML (the format of ``byokgate apply``), previewed before applied.

Both read a route with ``domain.routes.route_from`` and save it through ``admin.routes.RouteAdmin``, as the
admin API and the CLI do, so a target the project cannot be served by is refused the same way, naming it;
the refusal is shown next to the field it names (``targets[1].provider``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import yaml
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from byokgate.admin.routes import RouteAdmin, RoutePlan, parse_routes
from byokgate.domain.entities import Project
from byokgate.domain.routes import MAX_TARGETS, RouteConfig, RouteError, route_from
from byokgate.errors import ApiError
from byokgate.store.users import Session

if TYPE_CHECKING:
    from byokgate.dashboard.pages import Dashboard

SETTINGS = ("retries", "timeout_s", "ttft_timeout_s", "deadline_s")
FLAGS = ("route_around_refusals", "continue_streams")
TARGET_FIELDS = ("provider", "model", "lane", "weight")
_TARGET = re.compile(r"targets\[(\d+)\]")
_MAX_YAML = 64 * 1024
DONE = {"saved": "Saved the route.", "deleted": "Deleted the route.", "applied": "Applied the routes."}


class RoutingPages:
    def __init__(self, dashboard: Dashboard) -> None:
        self._dashboard = dashboard
        self._routes = RouteAdmin(dashboard.control)

    async def page(self, request: Request) -> Response:
        access = await self._dashboard.access(request, request.path_params["project_id"], write=False)
        if isinstance(access, Response):
            return access
        session, project, writable = access
        routes = await self._routes.list(project.id)
        editing = next((r for r in routes if r.name == request.query_params.get("edit")), None)
        return self._render(
            session,
            project,
            writable,
            routes,
            form=_form_of(editing),
            notice=DONE.get(request.query_params.get("done", "")),
        )

    def _render(
        self,
        session: Session,
        project: Project,
        writable: bool,
        routes: list[RouteConfig],
        *,
        form: dict[str, str],
        errors: dict[str, str] | None = None,
        document: str | None = None,
        plan: RoutePlan | None = None,
        notice: str | None = None,
    ) -> Response:
        control = self._dashboard.control
        providers = list(control.registry.byok_names)
        if control.pooled_provider and control.pooled_provider not in providers:
            providers.append(control.pooled_provider)
        used = sum(1 for index in range(MAX_TARGETS) if form.get(f"targets[{index}].provider"))
        return self._dashboard.render_project(
            "routing.html",
            session,
            project,
            "routing",
            400 if errors else 200,
            writable=writable,
            routes=routes,
            form=form,
            rows=min(MAX_TARGETS, max(3, used + 1)),
            providers=providers,
            pooled=control.pooled_provider,
            errors=errors or {},
            document=document if document is not None else _yaml(routes),
            plan=plan,
            notice=notice,
        )

    async def save(self, request: Request) -> Response:
        """One route from the form, created or replaced."""
        change = await self._dashboard.change(request, request.path_params["project_id"])
        if isinstance(change, Response):
            return change
        session, project, form = change
        try:
            route, rows = _route_of(form)
        except _Refused as refused:
            routes = await self._routes.list(project.id)
            return self._render(session, project, True, routes, form=form, errors=refused.errors)
        try:
            await self._routes.put(project.id, route, actor=f"user:{session.user.id}")
        except ApiError as error:
            field = _form_field(error.param or "name", rows)
            routes = await self._routes.list(project.id)
            message = error.message.removeprefix(f"{error.param}: ")  # shown next to that field
            return self._render(session, project, True, routes, form=form, errors={field: message})
        return self._back(project.id, "saved")

    async def delete(self, request: Request) -> Response:
        change = await self._dashboard.change(request, request.path_params["project_id"])
        if isinstance(change, Response):
            return change
        session, project, form = change
        try:
            await self._routes.delete(project.id, form.get("name", ""), actor=f"user:{session.user.id}")
        except ApiError as error:
            routes = await self._routes.list(project.id)
            return self._render(session, project, True, routes, form={}, errors={"delete": error.message})
        return self._back(project.id, "deleted")

    async def apply(self, request: Request) -> Response:
        """The YAML document's routes become the project's (``action=preview``: only say what changes)."""
        change = await self._dashboard.change(request, request.path_params["project_id"])
        if isinstance(change, Response):
            return change
        session, project, form = change
        document = form.get("document", "")
        preview = form.get("action") != "apply"
        try:
            routes = parse_routes(_routes_in(document, project.id))
            plan = await self._routes.apply(
                project.id, routes, actor=f"user:{session.user.id}", dry_run=preview
            )
        except (_Refused, ApiError) as refused:
            message = refused.errors["document"] if isinstance(refused, _Refused) else refused.message
            current = await self._routes.list(project.id)
            return self._render(
                session, project, True, current, form={}, errors={"document": message}, document=document
            )
        if not preview:
            return self._back(project.id, "applied")
        current = await self._routes.list(project.id)
        return self._render(session, project, True, current, form={}, document=document, plan=plan)

    @staticmethod
    def _back(project_id: str, done: str) -> Response:
        return RedirectResponse(f"/dashboard/projects/{project_id}/routing?done={done}", 303)


class _Refused(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(str(errors))
        self.errors = errors


def _form_of(route: RouteConfig | None) -> dict[str, str]:
    """A route as the form's fields (empty: a new route)."""
    if route is None:
        return {}
    form = {"name": route.name}
    for index, target in enumerate(route.targets):
        form |= {f"targets[{index}].{name}": _text(getattr(target, name)) for name in TARGET_FIELDS}
    form |= {name: _text(getattr(route, name)) for name in SETTINGS}
    form |= {flag: "on" for flag in FLAGS if getattr(route, flag)}
    return form


def _text(value: object) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _route_of(form: dict[str, str]) -> tuple[RouteConfig, list[int]]:
    """The form's route, and which form row each of its targets came from (blank rows are skipped)."""
    errors: dict[str, str] = {}
    value: dict[str, Any] = {"name": form.get("name", "").strip(), "targets": []}
    rows = []
    for index in range(MAX_TARGETS):
        field = f"targets[{index}]"
        provider, model = (form.get(f"{field}.{name}", "").strip() for name in ("provider", "model"))
        if not provider and not model:
            continue
        if not model:
            errors[f"{field}.model"] = "Type the model this target asks the provider for."
        target: dict[str, Any] = {
            "provider": provider,
            "model": model,
            "lane": form.get(f"{field}.lane", "byok"),
        }
        weight = form.get(f"{field}.weight", "").strip()
        if weight:
            target["weight"] = _number(weight, f"{field}.weight", errors)
        value["targets"].append(target)
        rows.append(index)
    for name in SETTINGS:
        text = form.get(name, "").strip()
        if text:
            value[name] = _number(text, name, errors, whole=name == "retries")
    value |= {flag: True for flag in FLAGS if flag in form}
    if not value["targets"]:
        errors.setdefault("targets[0].provider", "Give the route at least one target.")
    if errors:
        raise _Refused(errors)
    try:
        return route_from(value), rows
    except RouteError as exc:
        raise _Refused({_form_field(exc.field, rows): exc.message}) from None


def _number(text: str, field: str, errors: dict[str, str], *, whole: bool = False) -> float | int | None:
    try:
        return int(text) if whole else float(text)
    except ValueError:
        errors[field] = "Type a whole number." if whole else "Type a number."
        return None


def _form_field(param: str, rows: list[int]) -> str:
    """The form field an error names: a route's ``targets[i]`` is the form row its target came from."""
    found = _TARGET.match(param)
    if found is None:
        return param if param in (*SETTINGS, *FLAGS, "name", "targets") else "name"
    index = int(found.group(1))
    row = rows[index] if index < len(rows) else index
    rest = param[found.end() :] or ".provider"
    return f"targets[{row}]{rest}"


def _yaml(routes: list[RouteConfig]) -> str:
    return yaml.safe_dump(
        {"routes": [route.as_json() for route in routes]}, sort_keys=False, allow_unicode=True
    )


def _routes_in(document: str, project_id: str) -> object:
    """The ``routes`` of a routes file (``project``, when given, must be this project)."""
    if len(document) > _MAX_YAML:
        raise _Refused({"document": "That document is longer than 64 KiB."})
    try:
        parsed = yaml.safe_load(document)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        raise _Refused({"document": f"This is not YAML{line}."}) from None
    if parsed is None:
        return []
    if not isinstance(parsed, dict) or set(parsed) - {"project", "routes"}:
        raise _Refused({"document": "Expected a mapping with `routes` (and, optionally, `project`)."})
    if parsed.get("project") not in (None, project_id):
        raise _Refused({"document": f"This file is for project {parsed['project']}, not {project_id}."})
    return parsed.get("routes") or []
