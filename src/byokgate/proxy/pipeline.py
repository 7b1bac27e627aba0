"""What every front door does with a parsed request: plan it, admit it, consult the cache, run its chain.

The planner (``planner.py``) turns the request into its targets (a project route, the Auto lane, fallback
models, or the one route of the rules); admission counts the request against its requests-per-minute
limits, once; the cache answers a hit (exact or semantic) or makes identical misses wait for the first
(single flight); anything else goes to the chain of attempts (``chain.py``).
"""

from __future__ import annotations

from starlette.types import Receive

from byokgate.proxy.cached import CacheGate
from byokgate.proxy.call import Call
from byokgate.proxy.chain import Chain
from byokgate.proxy.exchange import Exchange, Responded, tags_of
from byokgate.proxy.metering import Metering
from byokgate.proxy.planner import Planner
from byokgate.snapshot.holder import SnapshotHolder


class Pipeline:
    def __init__(
        self,
        *,
        snapshot: SnapshotHolder,
        planner: Planner,
        metering: Metering,
        chain: Chain,
        gate: CacheGate | None = None,
    ) -> None:
        self._snapshot = snapshot
        self._planner = planner
        self._metering = metering
        self._chain = chain
        self._gate = gate

    async def run(self, call: Call, exchange: Exchange, send: Responded, receive: Receive) -> None:
        snapshot = self._snapshot.current
        exchange.tags = tags_of(call.body)
        targets, policy = self._planner.targets(snapshot, exchange, call)
        await self._metering.admit(snapshot, exchange, call.body_size)
        gate = self._gate
        if call.replay is None or gate is None:
            await self._chain.run(call, targets, exchange, send, receive, policy)
            self._planner.answered(exchange, call)
            return
        assert exchange.key is not None
        settings = snapshot.cache_of(exchange.key.project_id)
        ticket = gate.ticket(call.headers, settings, exchange, call.body, scope=call.cache_scope)
        if ticket is None:
            await self._chain.run(call, targets, exchange, send, receive, policy)
            self._planner.answered(exchange, call)
            return
        call.ticket = ticket
        try:
            looked = gate.lookup(send, exchange, ticket, call.replay)
            if looked is not None and await looked:
                return
            if ticket.query is not None and await gate.similar(send, exchange, snapshot, ticket, call.replay):
                return
            await self._chain.run(call, targets, exchange, send, receive, policy)
            self._planner.answered(exchange, call)
        finally:
            if ticket.leading:
                gate.land(ticket)
