"""A request's plan: the ordered targets its attempts go to (pure: the policy, the names, the preferences).

The requested model comes first, then each fallback model in order; a name is resolved by the routing
policy (``policy.py``). Provider preferences may widen a name to its other lanes (an OpenRouter-format name
on the project's own key may also go to the pooled lane), filter and order them, and sort the whole plan by
price. A name that cannot be routed, or a target the project's plan refuses, is left out; when nothing is
left the first refusal is the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from byokgate.routing.policy import Lane, Route, RoutingError, RoutingPolicy
from byokgate.routing.preferences import ProviderPreferences

Refusal = RoutingError | Exception


def plan_targets(
    policy: RoutingPolicy,
    names: Sequence[str],
    project_providers: frozenset[str],
    billing: str,
    preferences: ProviderPreferences | None = None,
    refuse: Callable[[Route], Exception | None] | None = None,  # asked of pooled-lane targets only
    price: Callable[[Route], int | None] | None = None,
) -> tuple[list[Route], Refusal | None]:
    """The targets, in order, and the first refusal met on the way (the answer when there is no target)."""
    if preferences is not None:
        preferences = _spelled(policy, preferences)
    targets: list[Route] = []
    first: Refusal | None = None
    for name in names:
        routed = policy.resolve(name, project_providers, billing)
        if isinstance(routed, RoutingError):
            first = first or routed
            continue
        routes = [routed]
        if preferences is not None:
            lanes = {route.provider: route for route in policy.lanes(routed, billing)}
            routes = [lanes[provider] for provider in preferences.arrange(list(lanes))]
            if not routes:
                first = first or RoutingError(
                    f"No provider of `{name}` is allowed by the request's provider preferences "
                    f"(it is served by {', '.join(lanes)}).",
                    code="no_allowed_provider",
                )
                continue
        for route in routes:
            refused = refuse(route) if refuse is not None and route.lane is Lane.POOLED else None
            if refused is not None:
                first = first or refused
            elif route not in targets:
                targets.append(route)
    if preferences is not None and preferences.sort == "price" and price is not None and len(targets) > 1:
        costs = {route: price(route) for route in targets}
        targets.sort(key=lambda route: (costs[route] is None, costs[route] or 0))
    return targets, first


def _spelled(policy: RoutingPolicy, preferences: ProviderPreferences) -> ProviderPreferences:
    """The preferences with each provider as the registry names it (``Google`` -> ``gemini``)."""

    def named(names: Sequence[str]) -> list[str]:
        return [policy.provider_named(name) or name for name in names]

    return replace(
        preferences,
        order=tuple(named(preferences.order)),
        only=None if preferences.only is None else frozenset(named(sorted(preferences.only))),
        ignore=frozenset(named(sorted(preferences.ignore))),
    )
