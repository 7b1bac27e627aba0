"""What every front door does with a parsed request: route it, admit it, consult the cache, execute it.

Routing is the pure policy over the snapshot (and the project's plan on the pooled lane); admission counts
the request against its requests-per-minute limits; the cache answers a hit (exact or semantic) or makes
identical misses wait for the first (single flight); anything else goes to the executor.
"""

from __future__ import annotations

from starlette.types import Receive

from byokgate.errors import NotFoundError, PermissionDeniedError
from byokgate.proxy.cached import CacheGate
from byokgate.proxy.call import Call
from byokgate.proxy.exchange import Exchange, Responded
from byokgate.proxy.executor import Executor
from byokgate.proxy.metering import Metering
from byokgate.routing.policy import Lane, Route, RoutingError, RoutingPolicy
from byokgate.snapshot.holder import SnapshotHolder
from byokgate.snapshot.model import Snapshot


class Pipeline:
    def __init__(
        self,
        *,
        snapshot: SnapshotHolder,
        policy: RoutingPolicy,
        metering: Metering,
        executor: Executor,
        gate: CacheGate | None = None,
    ) -> None:
        self._snapshot = snapshot
        self._policy = policy
        self._metering = metering
        self._executor = executor
        self._gate = gate

    async def run(self, call: Call, exchange: Exchange, send: Responded, receive: Receive) -> None:
        snapshot = self._snapshot.current
        route = self._route(snapshot, exchange, call.model)
        await self._metering.admit(snapshot, exchange, call.body_size)
        gate = self._gate
        if call.replay is None or gate is None:
            await self._executor.run(call, route, exchange, send, receive)
            return
        assert exchange.key is not None
        settings = snapshot.cache_of(exchange.key.project_id)
        ticket = gate.ticket(call.headers, settings, exchange, call.body, scope=call.cache_scope)
        if ticket is None:
            await self._executor.run(call, route, exchange, send, receive)
            return
        call.ticket = ticket
        try:
            looked = gate.lookup(send, exchange, ticket, call.replay)
            if looked is not None and await looked:
                return
            if ticket.query is not None and await gate.similar(send, exchange, snapshot, ticket, call.replay):
                return
            await self._executor.run(call, route, exchange, send, receive)
        finally:
            if ticket.leading:
                gate.land(ticket)

    def _route(self, snapshot: Snapshot, exchange: Exchange, model: str) -> Route:
        assert exchange.key is not None
        project_id = exchange.key.project_id
        billing = snapshot.billing_of(project_id)
        routed = self._policy.resolve(model, snapshot.providers_of(project_id), billing.policy)
        if isinstance(routed, RoutingError):
            if routed.code == "pooled_lane_not_allowed":
                raise PermissionDeniedError(routed.message, param="model", code=routed.code)
            raise NotFoundError(routed.message, param="model", code=routed.code)
        if routed.lane is Lane.POOLED:
            self._metering.check_plan(model, routed, billing.plan)
        exchange.route = routed
        return routed
