"""The Auto lane's choice, pure: capable candidates of the mode's grades, cheapest first, own keys first."""

from __future__ import annotations

from byokgate.routing.auto import AutoCatalog, Candidate, Needs, SessionPins, needs_of
from byokgate.routing.policy import Lane, Route

CATALOG = AutoCatalog(
    [
        Candidate("groq", "small-text", None, 131072, True, False, True, 1),
        Candidate("openai", "small-vision", "openai/small-vision", 128000, True, True, True, 1),
        Candidate("gemini", "mid-long", None, 1048576, True, True, True, 2),
        Candidate("anthropic", "big", "anthropic/big", 200000, True, True, False, 3),
    ]
)
PRICES = {
    "small-text": 1,
    "small-vision": 2,
    "openai/small-vision": 2,
    "mid-long": 5,
    "big": 20,
    "anthropic/big": 20,
}


def price(route: Route) -> int | None:
    return PRICES.get(route.upstream_model)


def plan(
    mode: str, needs: Needs, keys: set[str], pooled: str | None = None, premium: bool = True
) -> list[str]:
    def allowed(route: Route) -> bool:
        return premium or "big" not in route.upstream_model

    routes = CATALOG.plan(mode, needs, frozenset(keys), pooled, allowed, price)
    return [f"{r.lane}:{r.upstream_model}" for r in routes]


def test_cheapest_capable_first_within_the_modes_grades() -> None:
    every = {"groq", "openai", "gemini", "anthropic"}
    assert plan("auto", Needs(1000), every) == [
        "byok:small-text",
        "byok:small-vision",
        "byok:mid-long",
        "byok:big",
    ]
    assert plan("auto:balanced", Needs(1000), every) == ["byok:mid-long", "byok:big"]
    assert plan("auto:best", Needs(1000), every) == ["byok:big"]


def test_what_the_request_needs_filters_the_candidates() -> None:
    every = {"groq", "openai", "gemini", "anthropic"}
    assert plan("auto", Needs(1000, vision=True), every) == ["byok:small-vision", "byok:mid-long", "byok:big"]
    assert plan("auto", Needs(1000, json=True), every) == [
        "byok:small-text",
        "byok:small-vision",
        "byok:mid-long",
    ]
    assert plan("auto", Needs(150_000), every) == ["byok:mid-long", "byok:big"]  # a long prompt


def test_own_keys_first_then_the_pooled_lane_within_the_plan() -> None:
    assert plan("auto", Needs(1000), {"gemini"}, pooled="openrouter") == [
        "byok:mid-long",
        "pooled:openai/small-vision",
        "pooled:anthropic/big",
    ]
    assert plan("auto", Needs(1000), set(), pooled="openrouter", premium=False) == [
        "pooled:openai/small-vision"
    ]
    assert plan("auto", Needs(1000), set(), pooled=None) == []  # no key, no pooled lane


def test_a_targets_window_is_known_by_lane() -> None:
    assert CATALOG.window(Route(Lane.BYOK, "groq", "small-text", "small-text")) == 131072
    assert CATALOG.window(Route(Lane.POOLED, "openrouter", "anthropic/big", "anthropic/big")) == 200000
    assert CATALOG.window(Route(Lane.BYOK, "groq", "unknown", "unknown")) is None


def test_needs_are_read_from_the_canonical_body() -> None:
    body = {
        "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:x"}}]}],
        "tools": [{"type": "function", "function": {"name": "f"}}],
        "response_format": {"type": "json_schema", "json_schema": {"schema": {}}},
        "max_tokens": 100,
    }
    assert needs_of(body, 4000) == Needs(1100, tools=True, vision=True, json=True)
    assert needs_of({"messages": [{"role": "user", "content": "hi"}]}, 40) == Needs(10 + 4096)


def test_the_shipped_catalog_loads_and_every_candidate_is_priced_and_routable() -> None:
    from byokgate.emulators.openrouter import MODELS as POOLED_MODELS
    from byokgate.pricing.catalog import PriceCatalog
    from byokgate.providers.registry import default_registry

    catalog = AutoCatalog.load()
    prices = PriceCatalog.load()
    registry = default_registry()
    pooled_lane = {model.id: model.extra["context_length"] for model in POOLED_MODELS}
    assert catalog.candidates
    for candidate in catalog.candidates:
        assert f"{candidate.provider}/{candidate.model}" in prices, candidate
        assert registry[candidate.provider].catalog.serves(candidate.model), candidate
        if candidate.pooled is not None:
            assert f"openrouter/{candidate.pooled}" in prices, candidate
            assert pooled_lane.get(candidate.pooled) == candidate.context, candidate  # the emulator serves it


def test_session_pins_expire_and_are_bounded() -> None:
    now = [0.0]
    pins = SessionPins(capacity=2, ttl_s=10, clock=lambda: now[0])
    route = Route(Lane.BYOK, "groq", "m", "m")
    pins.pin("p", "s1", route)
    assert pins.get("p", "s1") == route
    assert pins.get("other", "s1") is None
    now[0] = 11
    assert pins.get("p", "s1") is None
    for session in ("a", "b", "c"):
        pins.pin("p", session, route)
    assert pins.get("p", "a") is None  # the oldest left
    assert pins.get("p", "c") == route
