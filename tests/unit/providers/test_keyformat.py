from __future__ import annotations

import pytest

from byokgate.domain.secret import Secret
from byokgate.providers.keyformat import KeyFormatError, check_key, mask_key
from byokgate.providers.registry import UnknownProviderError, default_registry

REGISTRY = default_registry()


@pytest.mark.parametrize(
    ("provider", "key"),
    [
        ("openai", "sk-proj-" + "x" * 40),
        ("openai", "sk-" + "x" * 48),
        ("openai", "brand-new-format-" + "x" * 20),  # unknown formats are not rejected
        ("anthropic", "sk-ant-api03-" + "x" * 40),
        ("groq", "gsk_" + "x" * 40),
        ("gemini", "AIza" + "x" * 35),
        ("gemini", "AQ." + "x" * 35),
    ],
)
def test_plausible_keys_pass(provider: str, key: str) -> None:
    check_key(REGISTRY.byok(provider), Secret(key), REGISTRY)


@pytest.mark.parametrize(
    ("provider", "key", "message"),
    [
        ("openai", "", "empty"),
        ("openai", "sk-proj-abc def", "whitespace"),
        ("openai", "Bearer sk-proj-abcdef", "whitespace"),
        ("openai", "sk-proj-abcdef\n", "whitespace"),
        ("openai", "sk-" + "x" * 600, "longer than"),
        ("openai", "sk-proj-ünicode", "non-ASCII"),
        ("openai", "sk-ant-api03-" + "x" * 40, "Anthropic key"),
        ("anthropic", "sk-proj-" + "x" * 40, "OpenAI key"),
        ("groq", "AIza" + "x" * 35, "Google Gemini key"),
        ("gemini", "gsk_" + "x" * 40, "store it under provider 'groq'"),
        ("openai", "sk-or-v1-" + "x" * 40, "not a BYOK key"),
        ("openai", "lgw_proj_" + "x" * 43, "byokgate project key"),
    ],
)
def test_obvious_mistakes_are_rejected_without_echoing_the_key(provider: str, key: str, message: str) -> None:
    with pytest.raises(KeyFormatError, match=message) as caught:
        check_key(REGISTRY.byok(provider), Secret(key), REGISTRY)
    if len(key) > 12:
        assert key[6:] not in str(caught.value)


@pytest.mark.parametrize(
    ("provider", "key", "masked"),
    [
        ("openai", "sk-proj-abcdefghijklmnopqrstuvwxyz", "sk-proj-...wxyz"),
        ("anthropic", "sk-ant-api03-abcdefghijklmnop1234", "sk-ant-api03-...1234"),
        ("groq", "gsk_abcdefghijklmnopWXYZ", "gsk_...WXYZ"),
        ("gemini", "AIzaSyabcdefghijklmno9876", "AIza...9876"),
        ("openai", "newformat-abcdefghijkl5678", "new...5678"),
        ("openai", "shortkey99", "...99"),
        ("openai", "tiny", "..."),
    ],
)
def test_mask_shows_prefix_and_last_four_only(provider: str, key: str, masked: str) -> None:
    assert mask_key(REGISTRY.byok(provider), Secret(key)) == masked


def test_only_byok_providers_take_project_keys() -> None:
    assert REGISTRY.byok_names == ["openai", "anthropic", "groq", "gemini"]
    with pytest.raises(UnknownProviderError, match="openai, anthropic, groq, gemini"):
        REGISTRY.byok("openrouter")
    with pytest.raises(UnknownProviderError):
        REGISTRY.byok("azure")
