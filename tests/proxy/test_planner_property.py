"""A property of the planner, over generated projects and requests: whatever the routes, the requested model,
its fallbacks and provider preferences, the plan and the billing policy, no target goes to a provider the
project holds no key for, and no pooled target is a model the project's plan (or policy) forbids. (Every
attempt of the chain goes to one of these targets; a key is always one of the target's pool.)"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, cast

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from byokgate.billing.plans import Plans
from byokgate.domain.entities import BillingSettings
from byokgate.domain.routes import RouteTable, route_from
from byokgate.errors import ApiError
from byokgate.pricing.catalog import PriceCatalog
from byokgate.providers.registry import default_registry
from byokgate.proxy.call import Call, Operation
from byokgate.proxy.chain import RetryPolicy
from byokgate.proxy.costs import Coster
from byokgate.proxy.exchange import Exchange
from byokgate.proxy.metering import Metering
from byokgate.proxy.planner import Planner
from byokgate.routing.policy import Lane, RoutingPolicy
from byokgate.routing.preferences import ProviderPreferences
from byokgate.snapshot.holder import SnapshotHolder
from byokgate.snapshot.model import KeyEntry, Snapshot

REGISTRY = default_registry()
POLICY = RoutingPolicy(REGISTRY, pooled_provider="openrouter")
PLANS = Plans.load()
PROVIDERS = ["openai", "anthropic", "groq", "gemini", "mistral", "xai"]
MODELS = [
    "gpt-4o",
    "gpt-4o-mini",
    "claude-3-5-sonnet-20241022",
    "llama-3.3-70b-versatile",
    "gemini-2.5-flash",
    "openai/gpt-4o",
    "anthropic/claude-sonnet-4",
    "google/gemini-2.0-flash-001",
    "mistralai/mistral-large",
    "auto",
    "auto:cheap",
    "auto:best",
    "fast",
    "claude-3-opus-20240229",
]
KEY = KeyEntry("key_1", "proj_1", None)


class _Body:
    """A stand-in front door whose canonical form is the body itself."""

    api = "chat"

    def canonical(self, body: dict[str, Any]) -> dict[str, Any]:
        return body


targets = st.fixed_dictionaries(
    {
        "provider": st.sampled_from([*PROVIDERS, "openrouter"]),
        "model": st.sampled_from(
            ["gpt-4o", "claude-3-5-sonnet-20241022", "openai/gpt-4o", "anthropic/claude-sonnet-4"]
        ),
        "lane": st.sampled_from(["byok", "pooled"]),
    }
)
routes = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.sampled_from(["fast", "gpt-4o", "claude-*"]),
            "targets": st.lists(targets, min_size=1, max_size=3),
        }
    ),
    max_size=3,
    unique_by=lambda route: route["name"],
)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    keys=st.frozensets(st.sampled_from(PROVIDERS)),
    plan=st.sampled_from(["free", "starter", "teams"]),
    billing=st.sampled_from(["byok_then_pooled", "byok_only", "pooled_only"]),
    model=st.sampled_from(MODELS),
    fallbacks=st.lists(st.sampled_from(MODELS), max_size=3),
    order=st.lists(st.sampled_from([*PROVIDERS, "openrouter", "OpenAI", "google"]), max_size=3),
    project_routes=routes,
    images=st.booleans(),
)
def test_no_target_the_project_may_not_use(
    keys: frozenset[str],
    plan: str,
    billing: str,
    model: str,
    fallbacks: list[str],
    order: list[str],
    project_routes: list[dict[str, Any]],
    images: bool,
) -> None:
    snapshot = Snapshot(
        version=1,
        api_keys=MappingProxyType({}),
        credentials=MappingProxyType({}),
        wrapped_data_keys=MappingProxyType({}),
        providers=MappingProxyType({"proj_1": keys}),
        billing=MappingProxyType({"proj_1": BillingSettings(plan, billing)}),
        routes=MappingProxyType({"proj_1": RouteTable(route_from(r) for r in project_routes)}),
    )
    content: Any = "hi"
    if images:
        content = [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "data:x"}}]
    body = {"model": model, "messages": [{"role": "user", "content": content}]}
    call = Call(
        door=cast(Any, _Body()),
        operation=Operation.CHAT,
        model=model,
        body=body,
        body_size=100,
        headers=[],
        fallbacks=tuple(f for f in fallbacks if f != model),
        preferences=ProviderPreferences(order=tuple(order)) if order else None,
    )
    exchange = Exchange("req_1", 0.0, "chat/completions", key=KEY)
    try:
        planned, _ = PLANNER.targets(snapshot, exchange, call)
    except ApiError:
        return  # refused: nothing goes anywhere
    assert planned
    for route in planned:
        if route.lane is Lane.BYOK:
            assert route.provider in keys, route
        else:
            assert billing != "byok_only", route
            assert route.provider == "openrouter", route
            assert PLANS.tier_of(route.upstream_model) in PLANS.get(plan).pooled_tiers, route


def _planner() -> Planner:
    coster = Coster(PriceCatalog.load())
    holder = cast(SnapshotHolder, None)  # the planner never reads the holder (it is given the snapshot)
    metering = Metering(snapshot=holder, coster=coster, plans=PLANS)
    return Planner(policy=POLICY, metering=metering, coster=coster, retry=RetryPolicy())


PLANNER = _planner()
