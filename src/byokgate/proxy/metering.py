"""Metering on the request path: rate limits, budgets and platform credits around each upstream call.

``admit`` counts a request against its requests-per-minute limits when it arrives; ``hold`` reserves its
worst case (its body and output cap, at list price) against token and spend limits and, on the pooled lane,
against the project's credits or its plan's included tokens, before it goes upstream; ``settle`` trades
that for what the request really used once it is done. ``check_plan`` keeps pooled-lane models inside the
project's plan. Everything here reads the snapshot and the counters: no database on the way.
"""

from __future__ import annotations

from typing import Any

from byokgate.billing.credits import CreditGate
from byokgate.billing.plans import Plans
from byokgate.errors import PermissionDeniedError
from byokgate.limits.gate import LimitGate, Reservation, estimated_usage
from byokgate.proxy.costs import Coster
from byokgate.proxy.exchange import Exchange, as_int
from byokgate.routing.policy import Lane, Route
from byokgate.snapshot.holder import SnapshotHolder
from byokgate.snapshot.model import Snapshot


class Metering:
    def __init__(
        self,
        *,
        snapshot: SnapshotHolder,
        coster: Coster,
        plans: Plans,
        limits: LimitGate | None = None,
        credits: CreditGate | None = None,
    ) -> None:
        self._snapshot = snapshot
        self._coster = coster
        self._plans = plans
        self._limits = limits
        self._credits = credits

    async def admit(self, snapshot: Snapshot, exchange: Exchange, body_size: int) -> None:
        """Count the request against its requests-per-minute limits (429 past one)."""
        assert exchange.key is not None
        exchange.body_size = body_size  # for the worst-case estimate, should the request be held
        scopes = snapshot.limits_of(exchange.key)
        if scopes and self._limits is not None:
            exchange.limits = scopes
            await self._limits.admit(exchange.key.project_id, scopes)

    async def hold(self, exchange: Exchange, payload: dict[str, Any], kind: str) -> Reservation | None:
        """Reserve the request's worst case against its token and spend limits (429 past one) and, on the
        pooled lane, against the project's credits (402 when they do not cover it)."""
        assert exchange.key is not None
        assert exchange.route is not None
        pooled = exchange.route.lane is Lane.POOLED and self._credits is not None
        if not pooled and (not exchange.limits or self._limits is None):
            return None
        usage = estimated_usage(exchange.body_size, payload, kind)
        cost = self._coster.cost(exchange.route, usage)
        project_id = exchange.key.project_id
        held = None
        if exchange.limits and self._limits is not None:
            held = await self._limits.reserve(
                project_id, exchange.request_id, exchange.limits, usage["total_tokens"], cost
            )
        if pooled and cost is not None and self._credits is not None:
            try:
                snapshot = self._snapshot.current
                exchange.credit_hold = await self._credits.hold(
                    project_id,
                    exchange.request_id,
                    snapshot.credits_of(project_id),
                    cost,
                    tokens=usage["total_tokens"],
                    plan=self._plans.get(snapshot.billing_of(project_id).plan),
                )
                if exchange.credit_hold.covered:
                    exchange.charged_micro = 0  # the plan's included tokens pay for it
            except BaseException:
                if held is not None and self._limits is not None:
                    await self._limits.settle(held, 0, 0)
                raise
        return held

    async def settle(self, held: Reservation | None, exchange: Exchange) -> None:
        """Trade the reservation for what was used: the usage when known; nothing when the request failed
        before any answer; the reservation itself when an answer started but its usage never came."""
        used = _tokens_used(exchange.usage)
        failed_early = exchange.status == 0  # no answer at all: nothing was used
        if exchange.credit_hold is not None and self._credits is not None:
            hold, exchange.credit_hold = exchange.credit_hold, None
            tokens: int | None
            if used is not None and exchange.cost_micro is not None:
                charge, tokens = exchange.cost_micro, used
            else:
                charge, tokens = (0, 0) if failed_early else (hold.amount, None)
            await self._credits.charge(hold, charge, tokens)
            exchange.charged_micro = 0 if hold.covered else charge
        if held is None or held.empty or self._limits is None:
            return
        if used is not None:
            await self._limits.settle(held, used, exchange.cost_micro)
        elif failed_early:
            await self._limits.settle(held, 0, 0)
        else:
            await self._limits.settle(held, None, None)

    def check_plan(self, model: str, routed: Route, plan_name: str | None) -> None:
        """A pooled-lane model must be in a tier the project's plan includes (403 otherwise)."""
        plan = self._plans.get(plan_name)
        tier = self._plans.tier_of(routed.upstream_model)
        if tier not in plan.pooled_tiers:
            upgrade = self._plans.cheapest_with(tier)
            raise PermissionDeniedError(
                f"`{model}` is a {tier} model on the pooled lane, which the {plan.title} plan does not "
                f"include{f' ({upgrade} does)' if upgrade else ''}. Add the provider's own key to the "
                "project to use it on your account.",
                param="model",
                code="model_not_in_plan",
            )


def _tokens_used(usage: dict[str, Any]) -> int | None:
    """Prompt plus completion tokens of a final usage; None without one."""
    if not usage:
        return None
    total = as_int(usage.get("total_tokens"))
    if total is not None:
        return total
    return (as_int(usage.get("prompt_tokens")) or 0) + (as_int(usage.get("completion_tokens")) or 0)
