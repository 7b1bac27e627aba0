"""A matched route's targets as ``Route``s (the project's ``RouteTable`` found the route).

``route_targets`` turns a matched route into
the targets the chain tries: a ``byok`` target needs the project's key for its provider, a ``pooled`` one
the gateway's pooled lane and a billing policy that allows it; a target that cannot be served now (its key
deleted since the route was saved) is left out, and the first such refusal is kept to answer with when
nothing is left. With weights, the first attempt goes to a target drawn by weight.
"""

from __future__ import annotations

import random

from byokgate.domain.routes import RouteConfig
from byokgate.routing.policy import Lane, Route, RoutingError, RoutingPolicy


def route_targets(
    policy: RoutingPolicy,
    route: RouteConfig,
    captured: str,
    project_providers: frozenset[str],
    billing: str,
    rng: random.Random | None = None,
) -> tuple[list[Route], RoutingError | None]:
    """The route's targets as ``Route``s in the order they are tried, and the first one refused."""
    targets: list[Route] = []
    weights: list[float] = []
    first: RoutingError | None = None
    for index, target in enumerate(route.targets):
        model = target.model.replace("*", captured)
        where = f"route `{route.name}` target {index}"
        if target.lane == "pooled":
            if policy.pooled_provider is None or billing == "byok_only":
                first = first or RoutingError(
                    f"The {where} ({model}) uses the pooled lane, which "
                    + (
                        "this gateway has not enabled."
                        if policy.pooled_provider is None
                        else "the project's billing policy (byok_only) does not allow."
                    ),
                    code="route_target_unavailable",
                )
                continue
            targets.append(Route(Lane.POOLED, policy.pooled_provider, model, model))
        else:
            if target.provider not in project_providers or target.provider not in policy.registry:
                first = first or RoutingError(
                    f"The {where} ({target.provider} {model}) needs the project's {target.provider} key, "
                    "which it does not hold.",
                    code="route_target_unavailable",
                )
                continue
            upstream = policy.registry[target.provider].catalog.native_aliases.get(model, model)
            targets.append(Route(Lane.BYOK, target.provider, upstream, model))
        weights.append(target.weight or 0.0)
    if len(targets) > 1 and any(weights):
        drawn = (rng or random).choices(range(len(targets)), weights=weights)[0]
        targets.insert(0, targets.pop(drawn))
    return targets, first
