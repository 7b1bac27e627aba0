"""Costs against hand-computed cases for each provider's usage (cache tokens included)."""

from __future__ import annotations

from datetime import date

import pytest

from byokgate.pricing.catalog import LongContext, Price, per_million
from byokgate.pricing.cost import cost_micro_usd, usd

DAY = date(2025, 1, 1)
GPT_4O = Price(DAY, input=per_million("2.5"), output=per_million("10"), cached_input=per_million("1.25"))
SONNET = Price(
    DAY,
    input=per_million("3"),
    output=per_million("15"),
    cached_input=per_million("0.3"),
    cache_write=per_million("3.75"),
)
GEMINI_PRO = Price(
    DAY,
    input=per_million("1.25"),
    output=per_million("10"),
    cached_input=per_million("0.31"),
    long_context=LongContext(200_000, per_million("2.5"), per_million("15"), per_million("0.625")),
)
LLAMA = Price(DAY, input=per_million("0.59"), output=per_million("0.79"))


def test_openai_with_cached_prompt_tokens() -> None:
    usage = {
        "prompt_tokens": 2000,
        "completion_tokens": 300,
        "prompt_tokens_details": {"cached_tokens": 1024},
        "completion_tokens_details": {"reasoning_tokens": 100},  # already inside completion_tokens
    }
    # 976 fresh x 2.5 + 1024 cached x 1.25 + 300 x 10 = 2440 + 1280 + 3000 micro-USD
    assert cost_micro_usd(GPT_4O, usage) == 6720


def test_anthropic_cache_reads_and_writes() -> None:
    # as the adapter reports it: prompt = fresh 100 + read 5000 + written 2000
    usage = {
        "prompt_tokens": 7100,
        "completion_tokens": 500,
        "prompt_tokens_details": {"cached_tokens": 5000, "cache_write_tokens": 2000},
    }
    # 100 x 3 + 5000 x 0.3 + 2000 x 3.75 + 500 x 15 = 300 + 1500 + 7500 + 7500
    assert cost_micro_usd(SONNET, usage) == 16800


def test_gemini_long_context_tier_and_cached_content() -> None:
    short = {"prompt_tokens": 1000, "completion_tokens": 100, "prompt_tokens_details": {"cached_tokens": 0}}
    assert cost_micro_usd(GEMINI_PRO, short) == 1250 + 1000
    long = {
        "prompt_tokens": 250_000,
        "completion_tokens": 1000,
        "prompt_tokens_details": {"cached_tokens": 50_000},
    }
    # 200000 fresh x 2.5 + 50000 x 0.625 + 1000 x 15
    assert cost_micro_usd(GEMINI_PRO, long) == 500_000 + 31_250 + 15_000


def test_fractions_round_once_half_up() -> None:
    # 1 x 0.59 + 1 x 0.79 = 1.38 -> 1; 3 x 0.59 + 1 x 0.79 = 2.56 -> 3 (not 2 + 1 rounded separately)
    assert cost_micro_usd(LLAMA, {"prompt_tokens": 1, "completion_tokens": 1}) == 1
    assert cost_micro_usd(LLAMA, {"prompt_tokens": 3, "completion_tokens": 1}) == 3
    half = Price(DAY, input=per_million("0.5"), output=per_million(0))
    assert cost_micro_usd(half, {"prompt_tokens": 1}) == 1


def test_missing_or_nonsense_usage_counts_nothing() -> None:
    assert cost_micro_usd(GPT_4O, {}) == 0
    weird = {"prompt_tokens": "9", "completion_tokens": True, "prompt_tokens_details": "x"}
    assert cost_micro_usd(GPT_4O, weird) == 0
    # more cached tokens than prompt tokens cannot make the cost negative
    assert cost_micro_usd(GPT_4O, {"prompt_tokens": 10, "prompt_tokens_details": {"cached_tokens": 50}}) == 13


@pytest.mark.parametrize(("micro", "text"), [(0, "0.000000"), (2500, "0.002500"), (12_345_678, "12.345678")])
def test_usd_strings(micro: int, text: str) -> None:
    assert usd(micro) == text
