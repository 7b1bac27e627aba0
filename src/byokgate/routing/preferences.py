"""A request's own routing options, as OpenRouter spells them, so OpenRouter clients migrate unchanged.

``models``: fallback model names, tried in order after ``model``. ``provider``: which providers may serve
each name and in what order: ``order`` (tried first, in that order), ``only`` (no others), ``ignore`` (never
these), ``allow_fallbacks`` (false: only the first of them), ``sort`` (``price``: cheapest target first;
``throughput`` and ``latency`` are accepted and do not reorder yet). OpenRouter's other provider options
(``require_parameters``, ``data_collection``, ``quantizations``, ``max_price``, ...) are accepted and
ignored. The gateway consumes both fields: they never reach a provider.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_FALLBACKS = 8
_SORTS = frozenset({"price", "throughput", "latency"})
_NAME = re.compile(r"[A-Za-z0-9._:/@+-]{1,256}")


class PreferenceError(ValueError):
    """A routing option that cannot be read: the client gets a 400 naming ``param``."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


@dataclass(frozen=True, slots=True)
class ProviderPreferences:
    order: tuple[str, ...] = ()
    only: frozenset[str] | None = None
    ignore: frozenset[str] = frozenset()
    allow_fallbacks: bool = True
    sort: str | None = None

    def arrange(self, providers: list[str]) -> list[str]:
        """The providers that may serve a name (in the gateway's order), as these preferences have them."""
        kept = [name for name in providers if name not in self.ignore]
        if self.only is not None:
            kept = [name for name in kept if name in self.only]
        if self.order:
            rank = {name: index for index, name in enumerate(self.order)}
            kept.sort(key=lambda name: rank.get(name, len(rank)))
        return kept[:1] if not self.allow_fallbacks else kept


def fallback_models(value: object, model: str) -> tuple[str, ...]:
    """``models`` as fallbacks after ``model`` (which it may list too), without repeats."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise PreferenceError("'models' must be an array of model names", "models")
    if len(value) > MAX_FALLBACKS + 1:
        raise PreferenceError(f"'models' takes at most {MAX_FALLBACKS + 1} model names", "models")
    seen = {model}
    fallbacks: list[str] = []
    for index, name in enumerate(value):  # one pass: this runs on every request that names fallbacks
        if not isinstance(name, str):
            raise PreferenceError("'models' must be an array of model names", "models")
        if not _NAME.fullmatch(name):
            raise PreferenceError(f"'models[{index}]' is not a model name", f"models[{index}]")
        if name not in seen:
            seen.add(name)
            fallbacks.append(name)
    return tuple(fallbacks)


def provider_preferences(value: object) -> ProviderPreferences | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise PreferenceError("'provider' must be an object", "provider")
    order = _names(value.get("order"), "provider.order")
    only = value.get("only")
    allow = value.get("allow_fallbacks", True)
    if allow is None:
        allow = True
    if not isinstance(allow, bool):
        raise PreferenceError("'provider.allow_fallbacks' must be a boolean", "provider.allow_fallbacks")
    sort = value.get("sort")
    if isinstance(sort, dict):  # OpenRouter's advanced form: {"by": "price", "partition": ...}
        sort = sort.get("by")
    if sort is not None and sort not in _SORTS:
        raise PreferenceError("'provider.sort' must be one of price, throughput, latency", "provider.sort")
    return ProviderPreferences(
        order=tuple(order),
        only=None if only is None else frozenset(_names(only, "provider.only")),
        ignore=frozenset(_names(value.get("ignore"), "provider.ignore")),
        allow_fallbacks=allow,
        sort=sort,
    )


def _names(value: object, param: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(name, str) and name for name in value):
        raise PreferenceError(f"'{param}' must be an array of provider names", param)
    return [name.lower() for name in value]
