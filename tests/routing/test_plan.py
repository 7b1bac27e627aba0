from __future__ import annotations

from byokgate.providers.registry import default_registry
from byokgate.routing.plan import plan_targets
from byokgate.routing.policy import Lane, Route, RoutingError, RoutingPolicy
from byokgate.routing.preferences import ProviderPreferences

POLICY = RoutingPolicy(default_registry(), pooled_provider="openrouter")
KEYS = frozenset({"openai", "anthropic"})


def test_the_model_then_each_routable_fallback_in_order() -> None:
    targets, first = plan_targets(
        POLICY, ["gpt-4o", "gemini-1.5-pro", "claude-3-5-sonnet"], KEYS, "byok_then_pooled"
    )
    assert targets == [
        Route(Lane.BYOK, "openai", "gpt-4o", "gpt-4o"),
        Route(Lane.BYOK, "anthropic", "claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
    ]
    assert isinstance(first, RoutingError)  # gemini: the project has no key for it
    assert "Gemini" in first.message


def test_nothing_routable_answers_with_the_first_refusal() -> None:
    targets, first = plan_targets(
        POLICY, ["gemini-1.5-pro", "llama-3.3-70b-versatile"], KEYS, "byok_then_pooled"
    )
    assert targets == []
    assert isinstance(first, RoutingError)
    assert "gemini-1.5-pro" in first.message


def test_a_target_the_plan_refuses_is_left_out() -> None:
    refusal = PermissionError("not in plan")

    def refuse(route: Route) -> Exception | None:
        return refusal if route.lane is Lane.POOLED else None

    targets, first = plan_targets(
        POLICY, ["mistralai/mistral-large", "gpt-4o"], KEYS, "byok_then_pooled", refuse=refuse
    )
    assert [t.provider for t in targets] == ["openai"]
    assert first is refusal


def test_provider_preferences_may_add_the_pooled_lane_and_order_it() -> None:
    preferences = ProviderPreferences(order=("openrouter", "openai"))
    targets, _ = plan_targets(POLICY, ["openai/gpt-4o"], KEYS, "byok_then_pooled", preferences)
    assert [(t.lane, t.provider) for t in targets] == [(Lane.POOLED, "openrouter"), (Lane.BYOK, "openai")]
    # Without preferences the project's own key serves the name, and only it (no billing surprise).
    targets, _ = plan_targets(POLICY, ["openai/gpt-4o"], KEYS, "byok_then_pooled")
    assert [(t.lane, t.provider) for t in targets] == [(Lane.BYOK, "openai")]
    # A byok_only project never gets the pooled lane, whatever the request asks.
    targets, _ = plan_targets(POLICY, ["openai/gpt-4o"], KEYS, "byok_only", preferences)
    assert [t.lane for t in targets] == [Lane.BYOK]


def test_preferences_name_providers_as_openrouter_does() -> None:
    preferences = ProviderPreferences(ignore=frozenset({"Anthropic"}))
    targets, _ = plan_targets(POLICY, ["gpt-4o", "claude-3-5-sonnet"], KEYS, "byok_then_pooled", preferences)
    assert [t.provider for t in targets] == ["openai"]
    google = ProviderPreferences(only=frozenset({"google"}))
    targets, _ = plan_targets(POLICY, ["gemini-1.5-pro"], frozenset({"gemini"}), "byok_then_pooled", google)
    assert [t.provider for t in targets] == ["gemini"]


def test_sort_by_price_puts_the_cheapest_first() -> None:
    prices = {"openai": 100, "anthropic": 50}
    targets, _ = plan_targets(
        POLICY,
        ["gpt-4o", "claude-3-5-sonnet", "groq/llama"],
        KEYS | {"groq"},
        "byok_only",
        ProviderPreferences(sort="price"),
        price=lambda route: prices.get(route.provider),
    )
    assert [t.provider for t in targets] == ["anthropic", "openai", "groq"]  # unpriced last
