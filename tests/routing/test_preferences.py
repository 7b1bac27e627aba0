from __future__ import annotations

import pytest

from byokgate.routing.preferences import (
    MAX_FALLBACKS,
    PreferenceError,
    ProviderPreferences,
    fallback_models,
    provider_preferences,
)


def test_models_are_fallbacks_after_the_model_without_repeats() -> None:
    assert fallback_models(None, "gpt-4o") == ()
    assert fallback_models(["gpt-4o", "claude-3-5-sonnet", "gpt-4o", "gemini-1.5-pro"], "gpt-4o") == (
        "claude-3-5-sonnet",
        "gemini-1.5-pro",
    )


@pytest.mark.parametrize(
    ("value", "param"),
    [
        ("gpt-4o", "models"),
        ([1], "models"),
        (["ok", "not ok"], "models[1]"),
        (["m"] * (MAX_FALLBACKS + 2), "models"),
    ],
)
def test_bad_models_name_the_field(value: object, param: str) -> None:
    with pytest.raises(PreferenceError) as caught:
        fallback_models(value, "gpt-4o")
    assert caught.value.param == param


def test_provider_options_as_openrouter_spells_them() -> None:
    read = provider_preferences(
        {
            "order": ["OpenAI", "Anthropic"],
            "ignore": ["Groq"],
            "allow_fallbacks": False,
            "sort": "price",
            "data_collection": "deny",
            "require_parameters": True,
        }
    )
    assert read == ProviderPreferences(
        order=("openai", "anthropic"), ignore=frozenset({"groq"}), allow_fallbacks=False, sort="price"
    )
    assert provider_preferences({"sort": {"by": "latency"}}) == ProviderPreferences(sort="latency")
    assert provider_preferences(None) is None


@pytest.mark.parametrize(
    ("value", "param"),
    [
        ([], "provider"),
        ({"order": "openai"}, "provider.order"),
        ({"only": [1]}, "provider.only"),
        ({"ignore": [""]}, "provider.ignore"),
        ({"allow_fallbacks": "no"}, "provider.allow_fallbacks"),
        ({"sort": "vibes"}, "provider.sort"),
    ],
)
def test_bad_provider_options_name_the_field(value: object, param: str) -> None:
    with pytest.raises(PreferenceError) as caught:
        provider_preferences(value)
    assert caught.value.param == param


def test_arrange_orders_filters_and_stops_at_the_first_without_fallbacks() -> None:
    lanes = ["openai", "openrouter"]
    assert ProviderPreferences().arrange(lanes) == lanes
    assert ProviderPreferences(order=("openrouter",)).arrange(lanes) == ["openrouter", "openai"]
    assert ProviderPreferences(only=frozenset({"openai"})).arrange(lanes) == ["openai"]
    assert ProviderPreferences(ignore=frozenset({"openai"})).arrange(lanes) == ["openrouter"]
    assert ProviderPreferences(order=("openrouter",), allow_fallbacks=False).arrange(lanes) == ["openrouter"]
