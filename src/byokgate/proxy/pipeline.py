"""What every front door does with a parsed request: route it, admit it, consult the cache, execute it.

Routing is the pure policy over the snapshot (and the project's plan on the pooled lane); admission counts
the request against its requests-per-minute limits; the cache answers a hit (exact or semantic) or makes
identical misses wait for the first (single flight); anything else goes to the executor.
"""

from __future__ import annotations

from starlette.types import Receive

from byokgate.domain.routes import RouteConfig
from byokgate.errors import ApiError, NotFoundError, PermissionDeniedError
from byokgate.proxy.cached import CacheGate
from byokgate.proxy.call import Call
from byokgate.proxy.chain import Chain, RetryPolicy
from byokgate.proxy.costs import Coster
from byokgate.proxy.exchange import Exchange, Responded
from byokgate.proxy.metering import Metering
from byokgate.routing.plan import Refusal, plan_targets
from byokgate.routing.policy import Lane, Route, RoutingError, RoutingPolicy
from byokgate.routing.routes import route_targets
from byokgate.snapshot.holder import SnapshotHolder
from byokgate.snapshot.model import Snapshot


class Pipeline:
    def __init__(
        self,
        *,
        snapshot: SnapshotHolder,
        policy: RoutingPolicy,
        metering: Metering,
        chain: Chain,
        coster: Coster,
        gate: CacheGate | None = None,
    ) -> None:
        self._snapshot = snapshot
        self._policy = policy
        self._metering = metering
        self._chain = chain
        self._coster = coster
        self._gate = gate

    async def run(self, call: Call, exchange: Exchange, send: Responded, receive: Receive) -> None:
        snapshot = self._snapshot.current
        assert exchange.key is not None
        table = snapshot.routes_of(exchange.key.project_id)
        found = table.find(call.model) if table is not None else None
        policy: RetryPolicy | None = None
        if found is not None:
            targets = self._routed(snapshot, exchange, call, *found)
            policy = self._chain.policy.for_route(found[0])
        elif call.fallbacks or call.preferences is not None:
            targets = self._plan(snapshot, exchange, call, [call.model, *call.fallbacks])
        else:
            targets = [self._route(snapshot, exchange, call.model)]
        await self._metering.admit(snapshot, exchange, call.body_size)
        gate = self._gate
        if call.replay is None or gate is None:
            await self._chain.run(call, targets, exchange, send, receive, policy)
            return
        assert exchange.key is not None
        settings = snapshot.cache_of(exchange.key.project_id)
        ticket = gate.ticket(call.headers, settings, exchange, call.body, scope=call.cache_scope)
        if ticket is None:
            await self._chain.run(call, targets, exchange, send, receive, policy)
            return
        call.ticket = ticket
        try:
            looked = gate.lookup(send, exchange, ticket, call.replay)
            if looked is not None and await looked:
                return
            if ticket.query is not None and await gate.similar(send, exchange, snapshot, ticket, call.replay):
                return
            await self._chain.run(call, targets, exchange, send, receive, policy)
        finally:
            if ticket.leading:
                gate.land(ticket)

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


def _refusal(refused: Refusal) -> ApiError:
    if isinstance(refused, ApiError):
        return refused
    if isinstance(refused, RoutingError):
        if refused.code == "pooled_lane_not_allowed":
            return PermissionDeniedError(refused.message, param="model", code=refused.code)
        return NotFoundError(refused.message, param="model", code=refused.code)
    raise refused
