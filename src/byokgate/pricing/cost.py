"""What a request cost, in integer micro-USD, from its final usage (OpenAI's usage shape, which every adapter
gives: prompt tokens include cache reads and writes, completion tokens include reasoning).

Cache reads are billed at the cached-input price and cache writes at the cache-write price when the model
has one, fresh input at the input price; a prompt above a long-context threshold takes that tier's prices.
Prices are whole pico-USD per token, so sums are exact integers, rounded once, half up, to whole micro-USD.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from byokgate.pricing.catalog import PICO_PER_MICRO, LongContext, Price


def cost_micro_usd(price: Price, usage: dict[str, Any]) -> int:
    prompt = _count(usage.get("prompt_tokens"))
    completion = _count(usage.get("completion_tokens"))
    details = usage.get("prompt_tokens_details")
    details = details if isinstance(details, dict) else {}
    read = min(_count(details.get("cached_tokens")), prompt)
    written = min(_count(details.get("cache_write_tokens")), prompt - read)
    fresh = prompt - read - written
    tier: Price | LongContext = price
    if price.long_context is not None and prompt > price.long_context.above_tokens:
        tier = price.long_context
    total = (
        fresh * tier.input
        + read * (tier.input if tier.cached_input is None else tier.cached_input)
        + written * (tier.input if tier.cache_write is None else tier.cache_write)
        + completion * tier.output
        + _made(price, usage)
    )
    return (total + PICO_PER_MICRO // 2) // PICO_PER_MICRO


def _made(price: Price, usage: dict[str, Any]) -> int:
    """Pico-USD for what a media model made or heard: ``images`` (of ``image_size``, ``image_quality``),
    ``audio_seconds`` in, ``characters`` of speech out."""
    total = 0
    images = _count(usage.get("images"))
    if images and price.per_image:
        size, quality = str(usage.get("image_size") or ""), str(usage.get("image_quality") or "")
        each = next(
            (price.per_image[k] for k in (f"{size}/{quality}", size, "") if k in price.per_image), None
        )
        total += images * (each or 0) * PICO_PER_MICRO
    seconds = usage.get("audio_seconds")
    if (
        isinstance(seconds, int | float)
        and not isinstance(seconds, bool)
        and seconds > 0
        and price.per_minute
    ):
        total += int(seconds * price.per_minute * PICO_PER_MICRO / 60)
    characters = _count(usage.get("characters"))
    if characters and price.per_million_characters:
        total += characters * price.per_million_characters
    return total


def usd(micro: int) -> str:
    """Micro-USD as a decimal string of dollars (``2500`` -> ``"0.002500"``), for headers."""
    return f"{Decimal(micro).scaleb(-6):.6f}"


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
