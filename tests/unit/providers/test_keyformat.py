"""Pasted provider keys: plausible ones pass, obvious mistakes are named without echoing the key, and the
masked view shows the known prefix and the last four characters. Driven by the provider records and the
adapters' declared prefixes, so a new provider is covered by its record."""

from __future__ import annotations

import itertools

import pytest

from byokgate.domain.secret import Secret
from byokgate.providers.keyformat import KeyFormatError, check_key, mask_key
from byokgate.providers.registry import UnknownProviderError
from tests.support.providers import CASES, REGISTRY, ProviderCase


def _prefix(provider: str, key: str) -> str:
    return next((p for p in REGISTRY[provider].key_prefixes if key.startswith(p)), "")


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_each_providers_own_key_shape_passes(case: ProviderCase) -> None:
    check_key(REGISTRY.byok(case.name), Secret(case.key), REGISTRY)


@pytest.mark.parametrize(
    ("provider", "key"),
    [
        ("openai", "sk-" + "x" * 48),  # OpenAI's older keys (DeepSeek's start so too)
        ("deepseek", "sk-" + "0123456789abcdef" * 2),
        ("openai", "brand-new-format-" + "x" * 20),  # unknown formats are not rejected
        ("gemini", "AQ." + "x" * 35),
        ("together", "f" * 64),  # Together's older keys: 64 hex, no prefix
    ],
)
def test_other_plausible_keys_pass(provider: str, key: str) -> None:
    check_key(REGISTRY.byok(provider), Secret(key), REGISTRY)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "empty"),
        ("abc def", "whitespace"),
        ("Bearer sk-proj-abcdef", "whitespace"),
        ("sk-proj-abcdef\n", "whitespace"),
        ("k" * 600, "longer than"),
        ("sk-proj-ünicode", "non-ASCII"),
        ("sk-or-v1-" + "x" * 40, "not a BYOK key"),
        ("lgw_proj_" + "x" * 43, "byokgate project key"),
    ],
)
def test_obvious_mistakes_are_named_without_echoing_the_key(
    case: ProviderCase, key: str, message: str
) -> None:
    with pytest.raises(KeyFormatError, match=message) as caught:
        check_key(REGISTRY.byok(case.name), Secret(key), REGISTRY)
    if len(key) > 12:
        assert key[6:] not in str(caught.value)


# Every ordered pair of records whose key carries a prefix only its own provider declares.
_DISTINCT = [case for case in CASES if _prefix(case.name, case.key)]
_PAIRS = [
    (owner, slot)
    for owner, slot in itertools.permutations(_DISTINCT, 2)
    if not _prefix(slot.name, owner.key) and len(_prefix(owner.name, owner.key)) > len("sk-")
]


@pytest.mark.parametrize(("owner", "slot"), _PAIRS, ids=lambda case: case.name)
def test_a_key_in_another_providers_slot_is_named(owner: ProviderCase, slot: ProviderCase) -> None:
    with pytest.raises(KeyFormatError, match=f"looks like a {REGISTRY[owner.name].title} key") as caught:
        check_key(REGISTRY.byok(slot.name), Secret(owner.key), REGISTRY)
    assert f"store it under provider '{owner.name}'" in str(caught.value)
    assert owner.key[8:] not in str(caught.value)


def test_a_prefix_two_providers_share_is_named_with_both() -> None:
    shared = "sk-" + "0123456789abcdef" * 2
    with pytest.raises(KeyFormatError, match=r"OpenAI or DeepSeek key \(sk-\.\.\.\).*'openai' or 'deepseek'"):
        check_key(REGISTRY.byok("groq"), Secret(shared), REGISTRY)


def test_the_pairs_cover_the_records() -> None:
    assert {owner.name for owner, _ in _PAIRS} >= {"anthropic", "groq", "xai", "cerebras", "perplexity"}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_mask_shows_the_known_prefix_and_the_last_four_only(case: ProviderCase) -> None:
    masked = mask_key(REGISTRY.byok(case.name), Secret(case.key))
    prefix = _prefix(case.name, case.key) or case.key[:3]
    assert masked == f"{prefix}...{case.key[-4:]}"


@pytest.mark.parametrize(
    ("key", "masked"),
    [("newformat-abcdefghijkl5678", "new...5678"), ("shortkey99", "...99"), ("tiny", "...")],
)
def test_short_and_unknown_keys_show_less(key: str, masked: str) -> None:
    assert mask_key(REGISTRY.byok("openai"), Secret(key)) == masked


def test_only_byok_providers_take_project_keys() -> None:
    pooled = [name for name, adapter in REGISTRY.items() if not adapter.accepts_byok]
    assert pooled  # the pooled lane's provider
    for name in pooled:
        with pytest.raises(UnknownProviderError):
            REGISTRY.byok(name)
    with pytest.raises(UnknownProviderError, match=", ".join(REGISTRY.byok_names)):
        REGISTRY.byok("bedrock")
    assert {case.name for case in CASES} == set(REGISTRY.byok_names)  # every BYOK provider has a record
