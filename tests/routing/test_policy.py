from __future__ import annotations

import pytest

from byokgate.providers.registry import default_registry
from byokgate.routing.policy import Lane, Route, RoutingError, RoutingPolicy

POLICY = RoutingPolicy(default_registry(), pooled_provider="openrouter")
NO_POOL = RoutingPolicy(default_registry(), pooled_provider=None)
ALL = frozenset({"openai", "anthropic", "groq", "gemini"})


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        ("gpt-4o", "openai"),
        ("o3-mini", "openai"),
        ("gpt-5-turbo-preview", "openai"),  # by pattern: new releases need no gateway release
        ("text-embedding-3-small", "openai"),
        ("claude-3-5-sonnet-20241022", "anthropic"),
        ("claude-future-9", "anthropic"),
        ("llama-3.3-70b-versatile", "groq"),
        ("llama2-70b-4096", "groq"),
        ("meta-llama/llama-4-scout-17b-16e-instruct", "groq"),  # a native id with a slash
        ("gemini-1.5-pro", "gemini"),
    ],
)
def test_native_names_go_byok_with_the_name_unchanged(model: str, provider: str) -> None:
    assert POLICY.resolve(model, ALL) == Route(Lane.BYOK, provider, model, model)


@pytest.mark.parametrize(
    ("model", "native"),
    [
        ("claude-3-opus", "claude-3-opus-20240229"),
        ("claude-3-5-sonnet", "claude-3-5-sonnet-20241022"),
        ("claude-3-5-sonnet-latest", "claude-3-5-sonnet-latest"),  # Anthropic's own alias: left to Anthropic
    ],
)
def test_short_native_names_resolve_to_dated_ids(model: str, native: str) -> None:
    assert POLICY.resolve(model, ALL) == Route(Lane.BYOK, "anthropic", native, model)


def test_native_name_without_the_key_says_which_key_to_add() -> None:
    result = POLICY.resolve("gpt-4o", frozenset({"groq"}))
    assert isinstance(result, RoutingError)
    assert result.code == "model_not_found"
    assert "no OpenAI API key" in result.message
    assert "'openai'" in result.message
    assert "`openai/gpt-4o`" in result.message
    assert "pooled lane" in result.message


@pytest.mark.parametrize(
    ("model", "provider", "native"),
    [
        ("openai/gpt-4o", "openai", "gpt-4o"),
        ("anthropic/claude-3-opus", "anthropic", "claude-3-opus-20240229"),
        ("anthropic/claude-3.5-sonnet", "anthropic", "claude-3-5-sonnet-20241022"),
        ("google/gemini-pro-1.5", "gemini", "gemini-1.5-pro"),
        ("groq/llama2-70b", "groq", "llama2-70b-4096"),
        ("meta-llama/llama-3.3-70b-instruct", "groq", "llama-3.3-70b-versatile"),
    ],
)
def test_openrouter_names_prefer_the_projects_own_key(model: str, provider: str, native: str) -> None:
    assert POLICY.resolve(model, ALL) == Route(Lane.BYOK, provider, native, model)
    pooled = POLICY.resolve(model, frozenset())
    assert pooled == Route(Lane.POOLED, "openrouter", model, model)


def test_openrouter_names_of_vendors_nobody_serves_directly_go_pooled() -> None:
    assert POLICY.resolve("mistralai/mistral-large", ALL) == Route(
        Lane.POOLED, "openrouter", "mistralai/mistral-large", "mistralai/mistral-large"
    )


def test_no_pooled_lane_configured() -> None:
    result = NO_POOL.resolve("openai/gpt-4o", frozenset())
    assert isinstance(result, RoutingError)
    assert "pooled lane" in result.message
    assert NO_POOL.resolve("openai/gpt-4o", frozenset({"openai"})) == Route(
        Lane.BYOK, "openai", "gpt-4o", "openai/gpt-4o"
    )


@pytest.mark.parametrize("model", ["", "davinci-9000", "my-model", "/", "openai/"])
def test_unknown_names(model: str) -> None:
    result = NO_POOL.resolve(model, ALL)
    assert isinstance(result, RoutingError)
    assert result.code == "model_not_found"


def test_a_byok_only_project_never_falls_through_to_credits() -> None:
    refused = POLICY.resolve("openai/gpt-4o", frozenset(), "byok_only")
    assert isinstance(refused, RoutingError)
    assert refused.code == "pooled_lane_not_allowed"
    assert "OpenAI" in refused.message
    assert POLICY.resolve("openai/gpt-4o", ALL, "byok_only") == Route(
        Lane.BYOK, "openai", "gpt-4o", "openai/gpt-4o"
    )
    vendorless = POLICY.resolve("mistralai/mistral-large", ALL, "byok_only")
    assert isinstance(vendorless, RoutingError)
    assert vendorless.code == "pooled_lane_not_allowed"
    missing = POLICY.resolve("gpt-4o", frozenset(), "byok_only")
    assert isinstance(missing, RoutingError)
    assert "pooled" not in missing.message  # no advice the policy forbids


def test_a_pooled_only_project_takes_the_pooled_lane_even_with_its_key() -> None:
    assert POLICY.resolve("openai/gpt-4o", ALL, "pooled_only") == Route(
        Lane.POOLED, "openrouter", "openai/gpt-4o", "openai/gpt-4o"
    )
    # a native name names a provider's own model: it still needs (and uses) the project's key
    assert POLICY.resolve("gpt-4o", ALL, "pooled_only") == Route(Lane.BYOK, "openai", "gpt-4o", "gpt-4o")
