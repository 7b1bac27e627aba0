"""A request's targets: what the chain will try, in order, and under which retry policy.

- The project's route for the requested name, when it has one (``routing/routes.py``), then the request's
  own fallbacks; the route's retry policy.
- ``auto`` (and ``auto:cheap|balanced|best``): the Auto lane's capable candidates, cheapest first
  (``routing/auto.py``), a conversation's pinned model first (``x-byokgate-session``).
- With fallback ``models`` or ``provider`` preferences: ``routing/plan.py``.
- Otherwise the one route of the routing rules (the fast path: nothing else is computed).

Pooled-lane targets the project's plan does not include are left out; when nothing is left the first
refusal is the answer. Pure over the snapshot: no I/O.
"""

from __future__ import annotations

from byokgate.domain.routes import RouteConfig
from byokgate.errors import ApiError, InvalidRequestError, NotFoundError, PermissionDeniedError
from byokgate.proxy.call import Call, Operation
from byokgate.proxy.chain import RetryPolicy
from byokgate.proxy.costs import Coster
from byokgate.proxy.exchange import Exchange
from byokgate.proxy.metering import Metering
from byokgate.routing.auto import MODES, AutoCatalog, SessionPins, needs_of
from byokgate.routing.plan import Refusal, plan_targets
from byokgate.routing.policy import Lane, Route, RoutingError, RoutingPolicy
from byokgate.routing.routes import route_targets
from byokgate.snapshot.model import Snapshot

SESSION_HEADER = b"x-byokgate-session"


class Planner:
    def __init__(
        self,
        *,
        policy: RoutingPolicy,
        metering: Metering,
        coster: Coster,
        retry: RetryPolicy,
        auto: AutoCatalog | None = None,
    ) -> None:
        self._policy = policy
        self._metering = metering
        self._coster = coster
        self._retry = retry
        self.auto = auto or AutoCatalog.load()
        self._pins = SessionPins()

    def targets(
        self, snapshot: Snapshot, exchange: Exchange, call: Call
    ) -> tuple[list[Route], RetryPolicy | None]:
        assert exchange.key is not None
        table = snapshot.routes_of(exchange.key.project_id)
        found = table.find(call.model) if table is not None else None
        if found is not None:
            return self._routed(snapshot, exchange, call, *found), self._retry.for_route(found[0])
        if call.model in MODES:
            return self._auto(snapshot, exchange, call), None
        if call.fallbacks or call.preferences is not None:
            return self._plan(snapshot, exchange, call, [call.model, *call.fallbacks]), None
        return [self._route(snapshot, exchange, call.model)], None

    def answered(self, exchange: Exchange, call: Call) -> None:
        """An Auto-lane conversation answered: its model stays first for the session's next requests."""
        if (
            call.model not in MODES
            or exchange.route is None
            or exchange.key is None
            or exchange.status >= 400
        ):
            return
        session = _session(call)
        if session is not None:
            self._pins.pin(exchange.key.project_id, session, exchange.route)

    # --- the kinds of plan ------------------------------------------------------------------------------

    def _route(self, snapshot: Snapshot, exchange: Exchange, model: str) -> Route:
        """The one target of a request that names no fallback and no provider preference."""
        assert exchange.key is not None
        project_id = exchange.key.project_id
        billing = snapshot.billing_of(project_id)
        routed = self._policy.resolve(model, snapshot.providers_of(project_id), billing.policy)
        if isinstance(routed, RoutingError):
            raise _refusal(routed)
        if routed.lane is Lane.POOLED:
            self._metering.check_plan(model, routed, billing.plan)
        exchange.route = routed
        return routed

    def _plan(
        self,
        snapshot: Snapshot,
        exchange: Exchange,
        call: Call,
        names: list[str],
        before: tuple[list[Route], Refusal | None] = ([], None),
    ) -> list[Route]:
        """The targets of ``names`` (``routing/plan.py``), after those of a route (``before``)."""
        assert exchange.key is not None
        project_id = exchange.key.project_id
        billing = snapshot.billing_of(project_id)
        targets: list[Route] = []
        first: Refusal | None = before[1]
        for route in before[0]:
            refused = self._refuse(route, billing.plan)
            if refused is None:
                targets.append(route)
            else:
                first = first or refused
        planned, unplanned = plan_targets(
            self._policy,
            names,
            snapshot.providers_of(project_id),
            billing.policy,
            call.preferences,
            lambda route: self._refuse(route, billing.plan),
            self._nominal_price,
        )
        targets += [route for route in planned if route not in targets]
        if not targets:
            refusal = first or unplanned
            assert refusal is not None
            raise _refusal(refusal)
        exchange.route = targets[0]
        return targets

    def _routed(
        self, snapshot: Snapshot, exchange: Exchange, call: Call, route: RouteConfig, captured: str
    ) -> list[Route]:
        """The targets of a request whose model is one of its project's routes, then its fallbacks."""
        assert exchange.key is not None
        project_id = exchange.key.project_id
        billing = snapshot.billing_of(project_id).policy
        listed = route_targets(self._policy, route, captured, snapshot.providers_of(project_id), billing)
        weighted = any(target.weight for target in route.targets)
        exchange.routing_reason = "weighted" if weighted else "alias"
        return self._plan(snapshot, exchange, call, list(call.fallbacks), listed)

    def _auto(self, snapshot: Snapshot, exchange: Exchange, call: Call) -> list[Route]:
        """The Auto lane's capable candidates, cheapest first (a session's pinned model first)."""
        assert exchange.key is not None
        if call.operation is not Operation.CHAT:
            raise InvalidRequestError(
                "the Auto lane serves chat requests only", param="model", code="invalid_model"
            )
        project_id = exchange.key.project_id
        billing = snapshot.billing_of(project_id)
        needs = needs_of(call.canonical(), call.body_size)
        pooled = self._policy.pooled_provider if billing.policy != "byok_only" else None
        targets = self.auto.plan(
            call.model,
            needs,
            snapshot.providers_of(project_id),
            pooled,
            lambda route: self._refuse(route, billing.plan) is None,
            self._nominal_price,
        )
        if not targets:
            wanted = [
                what
                for what, needed in (
                    ("tools", needs.tools),
                    ("images", needs.vision),
                    ("JSON output", needs.json),
                )
                if needed
            ]
            extra = f", {', '.join(wanted)}" if wanted else ""
            raise NotFoundError(
                f"No model this project can reach serves `{call.model}` for this request (about "
                f"{needs.tokens} tokens{extra}). Add a provider key, or a plan whose pooled tiers include "
                "a larger model.",
                param="model",
                code="no_capable_model",
            )
        exchange.routing_reason = "cheapest_capable"
        session = _session(call)
        pinned = self._pins.get(project_id, session) if session is not None else None
        if pinned is not None and pinned in targets:
            targets.remove(pinned)
            targets.insert(0, pinned)
            exchange.routing_reason = "session_pinned"
        exchange.route = targets[0]
        return targets

    # --- helpers ----------------------------------------------------------------------------------------

    def _refuse(self, route: Route, plan: str | None) -> Exception | None:
        """Why the project's plan refuses a pooled-lane target (None: it does not)."""
        if route.lane is not Lane.POOLED:
            return None
        try:
            self._metering.check_plan(route.requested_model, route, plan)
        except PermissionDeniedError as refused:
            return refused
        return None

    def _nominal_price(self, route: Route) -> int | None:
        """What a thousand tokens in and a thousand out cost on ``route`` (for sorting by price)."""
        usage = {"prompt_tokens": 1000, "completion_tokens": 1000, "total_tokens": 2000}
        return self._coster.cost(route, usage)


def _session(call: Call) -> str | None:
    for name, value in call.headers:
        if name == SESSION_HEADER and value:
            return value.decode("latin-1")[:256]
    return None


def _refusal(refused: Refusal) -> ApiError:
    if isinstance(refused, ApiError):
        return refused
    if isinstance(refused, RoutingError):
        if refused.code == "pooled_lane_not_allowed":
            return PermissionDeniedError(refused.message, param="model", code=refused.code)
        return NotFoundError(refused.message, param="model", code=refused.code)
    raise refused
