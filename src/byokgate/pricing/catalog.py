"""The price catalog: list prices per provider and model, as dated periods, from a data file.

``prices.json`` (shipped beside this module, see its README) is the default; ``BYOKGATE_PRICES_FILE`` names a
file of the same shape whose models replace the shipped ones (a negotiated rate, a new model). A model with
no known price has no cost (``None``), never a guessed one: the data plane logs it once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SHIPPED = Path(__file__).with_name("prices.json")
_UNKNOWN_LOGGED = 1000  # unknown names are logged once each, up to this many (names come from clients)


class PriceFileError(ValueError):
    """A price file that does not have the documented shape (named, with what is wrong)."""


PICO_PER_MICRO = 1_000_000


def per_million(usd: Decimal | int | str) -> int:
    """A price in USD per million tokens as whole pico-USD per token (exact to six decimal places)."""
    scaled = Decimal(usd) * PICO_PER_MICRO
    if scaled != scaled.to_integral_value():
        raise ValueError(f"prices have at most six decimal places (per million tokens), not {usd}")
    return int(scaled)


@dataclass(frozen=True, slots=True)
class LongContext:
    above_tokens: int
    input: int
    output: int
    cached_input: int | None
    cache_write: int | None = None


@dataclass(frozen=True, slots=True)
class Price:
    """Pico-USD per token (= USD per million tokens x 10^6) from ``effective`` on: integers, so that costs
    are exact and cheap to add up."""

    effective: date
    input: int
    output: int
    cached_input: int | None = None  # cache hits (None: billed as input)
    cache_write: int | None = None  # Anthropic cache writes (None: billed as input)
    long_context: LongContext | None = None  # a dearer tier for long prompts (Gemini, some Claude)
    # Models priced by what they make rather than by tokens (micro-USD each): an image by "size" or
    # "size/quality" ("" for any), a minute of audio in, a million characters of speech out (pico-USD each).
    per_image: Mapping[str, int] | None = None
    per_minute: int | None = None
    per_million_characters: int | None = None


class PriceCatalog:
    def __init__(
        self, models: dict[str, tuple[Price, ...]], version: str, aliases: dict[str, str] | None = None
    ) -> None:
        self._models = models
        self.version = version
        self._aliases = aliases or {}  # provider -> the provider whose prices it has when it has none
        self._unknown: set[str] = set()

    @classmethod
    def load(
        cls,
        override: Path | None = None,
        extra: dict[str, Any] | None = None,
        aliases: dict[str, str] | None = None,
    ) -> PriceCatalog:
        """The shipped catalog, plus ``extra`` (``provider/model`` -> periods, e.g. the prices of declared
        providers), then the ``override`` file's models on top; ``aliases``: providers priced as another
        where they have no price of their own."""
        shipped = _read(SHIPPED)
        models = _models(shipped, SHIPPED)
        version = str(shipped.get("version", ""))
        if extra:
            models.update(_models({"models": extra}, Path("<declared providers>")))
        if override is not None:
            overriding = _read(override)
            models.update(_models(overriding, override))
            version = f"{version}+{overriding.get('version', override.name)}"
        return cls(models, version, aliases)

    def __contains__(self, name: str) -> bool:
        return name in self._models

    def price(self, provider: str, model: str, on: date) -> Price | None:
        """The price of ``model`` at ``provider`` in force on ``on``; None when unknown."""
        name = f"{provider}/{model}"
        periods = self._models.get(name)
        if periods is None and provider in self._aliases:
            periods = self._models.get(f"{self._aliases[provider]}/{model}")
        if periods:
            current = None
            for period in periods:  # oldest first
                if period.effective <= on:
                    current = period
            if current is not None:
                return current
        if name not in self._unknown and len(self._unknown) < _UNKNOWN_LOGGED:
            self._unknown.add(name)
            log.warning("no price known for %s: its requests have no cost (add it to a price file)", name)
        return None


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(), parse_float=Decimal)
    except (OSError, json.JSONDecodeError) as exc:
        raise PriceFileError(f"price file {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
        raise PriceFileError(f"price file {path}: expected an object with a 'models' object")
    if data.get("unit", "per_million_tokens") != "per_million_tokens" or data.get("currency", "USD") != "USD":
        raise PriceFileError(f"price file {path}: only USD per million tokens is understood")
    return data


def _models(data: dict[str, Any], path: Path) -> dict[str, tuple[Price, ...]]:
    models: dict[str, tuple[Price, ...]] = {}
    for name, periods in data["models"].items():
        if "/" not in name or not isinstance(periods, list) or not periods:
            raise PriceFileError(f"price file {path}: {name!r} needs 'provider/model' and a list of periods")
        try:
            parsed = tuple(sorted((_period(p) for p in periods), key=lambda p: p.effective))
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise PriceFileError(f"price file {path}: {name}: {exc!r}") from None
        models[name] = parsed
    return models


def _period(raw: dict[str, Any]) -> Price:
    long = raw.get("long_context")
    images = raw.get("per_image")
    return Price(
        effective=date.fromisoformat(raw["effective"]),
        input=_money(raw.get("input", 0)),
        output=_money(raw.get("output", 0)),
        per_image=None if images is None else {str(k): _money(v) for k, v in dict(images).items()},
        per_minute=_optional(raw.get("per_minute")),
        per_million_characters=_optional(raw.get("per_million_characters")),
        cached_input=_optional(raw.get("cached_input")),
        cache_write=_optional(raw.get("cache_write")),
        long_context=None
        if long is None
        else LongContext(
            above_tokens=int(long["above_tokens"]),
            input=_money(long["input"]),
            output=_money(long["output"]),
            cached_input=_optional(long.get("cached_input")),
            cache_write=_optional(long.get("cache_write")),
        ),
    )


def _money(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError(f"a price must be a number, not {value!r}")
    if value < 0:
        raise ValueError("a price cannot be negative")
    return per_million(value)


def _optional(value: Any) -> int | None:
    return None if value is None else _money(value)
