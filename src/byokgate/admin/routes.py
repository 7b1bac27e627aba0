"""Control-plane use cases for a project's routes, shared by the admin API, the CLI and ``byokgate apply``.

A route is checked field by field when saved (``domain.routes.route_from``), and against what the
project can reach: a ``byok`` target needs a provider this gateway knows and the project's key for it, a
``pooled`` one the gateway's pooled lane (its provider named as the target's) and a billing policy that
allows it. A route that can never be served is refused, naming the target. ``apply`` makes a project's
routes exactly those of a file: each route created, replaced or deleted once, in one transaction, and an
unchanged route left alone (applying the same file twice changes nothing the second time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from byokgate.admin.services import ControlPlane
from byokgate.domain.entities import NewAuditEvent
from byokgate.domain.routes import RouteConfig, RouteError, route_from
from byokgate.errors import InvalidRequestError, NotFoundError
from byokgate.store.database import Transaction


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """What applying a set of routes changes: names created, replaced and deleted (the rest unchanged)."""

    created: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    previous: dict[str, RouteConfig] = field(default_factory=dict)  # what replaced and deleted ones were

    @property
    def empty(self) -> bool:
        return not (self.created or self.replaced or self.deleted)


class RouteAdmin:
    def __init__(self, control: ControlPlane) -> None:
        self._control = control
        self._pooled = control.pooled_provider

    async def list(self, project_id: str) -> list[RouteConfig]:
        async with self._control.store.transaction() as tx:
            await self._control.project_in(tx, project_id)
            return await tx.routes.list_for_project(project_id)

    async def put(self, project_id: str, route: RouteConfig, *, actor: str) -> RouteConfig:
        control = self._control
        async with control.mutation() as tx:
            await control.project_in(tx, project_id)
            await self._check(tx, project_id, route)
            old = await tx.routes.put(project_id, route, control.now())
            action = "route.replace" if old is not None else "route.create"
            detail = {"name": route.name, "targets": len(route.targets)}
            await control.changed(
                tx, NewAuditEvent(actor, action, project_id, detail=detail, at=control.now())
            )
        return route

    async def delete(self, project_id: str, name: str, *, actor: str) -> None:
        control = self._control
        async with control.mutation() as tx:
            await control.project_in(tx, project_id)
            if await tx.routes.delete(project_id, name) is None:
                raise NotFoundError(
                    f"project {project_id} has no route named {name!r}", code="route_not_found"
                )
            event = NewAuditEvent(actor, "route.delete", project_id, detail={"name": name}, at=control.now())
            await control.changed(tx, event)

    async def apply(
        self, project_id: str, routes: Sequence[RouteConfig], *, actor: str, dry_run: bool = False
    ) -> RoutePlan:
        """Make the project's routes exactly ``routes`` (``dry_run``: only say what that would change)."""
        names = [route.name for route in routes]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise InvalidRequestError(f"route {repeated[0]!r} is listed twice", param="routes")
        control = self._control
        async with control.mutation() if not dry_run else control.store.transaction() as tx:
            await control.project_in(tx, project_id)
            current = {route.name: route for route in await tx.routes.list_for_project(project_id)}
            plan = RoutePlan()
            for index, route in enumerate(routes):
                await self._check(tx, project_id, route, where=f"routes[{index}].")
                old = current.get(route.name)
                listed = plan.created if old is None else plan.unchanged if old == route else plan.replaced
                listed.append(route.name)
            plan.deleted.extend(sorted(set(current) - set(names)))
            plan.previous.update({name: current[name] for name in [*plan.replaced, *plan.deleted]})
            if dry_run or plan.empty:
                return plan
            now = control.now()
            for route in routes:
                if route.name not in plan.unchanged:
                    await tx.routes.put(project_id, route, now)
            for name in plan.deleted:
                await tx.routes.delete(project_id, name)
            detail = {"created": plan.created, "replaced": plan.replaced, "deleted": plan.deleted}
            await control.changed(tx, NewAuditEvent(actor, "route.apply", project_id, detail=detail, at=now))
        return plan

    async def _check(self, tx: Transaction, project_id: str, route: RouteConfig, where: str = "") -> None:
        """Refuse a target the project cannot be served by, naming it."""
        held = {credential.provider for credential in await tx.credentials.list_for_project(project_id)}
        policy = (await tx.billing.get(project_id)).policy
        registry = self._control.registry
        for index, target in enumerate(route.targets):
            at = f"{where}targets[{index}]"
            if target.lane == "pooled":
                if self._pooled is None:
                    raise _refused(f"{at}.lane", "this gateway has no pooled lane (no platform key)")
                if target.provider != self._pooled:
                    raise _refused(f"{at}.provider", f"the pooled lane's provider is {self._pooled}")
                if policy == "byok_only":
                    raise _refused(
                        f"{at}.lane", "the project's billing policy (byok_only) forbids the pooled lane"
                    )
                continue
            if target.provider not in registry or not registry[target.provider].accepts_byok:
                known = ", ".join(registry.byok_names)
                raise _refused(f"{at}.provider", f"unknown provider {target.provider!r} (known: {known})")
            if target.provider not in held:
                raise _refused(
                    f"{at}.provider",
                    f"the project has no {target.provider} key: add one first, or use lane pooled",
                )


def parse_routes(value: object) -> list[RouteConfig]:
    """A list of routes in their JSON form (``routes:`` of a routes file), each checked."""
    if not isinstance(value, list):
        raise InvalidRequestError("routes must be a list of routes", param="routes")
    parsed = []
    for index, item in enumerate(value):
        try:
            parsed.append(route_from(item))
        except RouteError as exc:
            raise InvalidRequestError(
                f"routes[{index}].{exc.field}: {exc.message}", param=f"routes[{index}].{exc.field}"
            ) from None
    return parsed


def _refused(param: str, message: str) -> InvalidRequestError:
    return InvalidRequestError(f"{param}: {message}", param=param, code="route_unservable")
