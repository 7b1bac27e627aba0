"""A project's routes: a requested name or alias mapped to an ordered list of targets, with its own retry
budget and time limits. One reader (``route_from``) checks every field and names the bad one, for the
admin API, the CLI and ``byokgate apply`` alike.

A route's ``name`` is what clients ask for: an alias (``fast``, ``smart``), a model name (``gpt-4o``) or a
pattern with one ``*`` (``claude-*``). A target says where to go: ``provider`` (registry name), ``model``
(the provider's name for it, or an OpenRouter-format name on the pooled lane; in a pattern route ``*``
stands for what the name's ``*`` matched), ``lane`` (``byok``: the project's own key; ``pooled``: platform
credits) and ``weight`` (optional: when any target has one, the first attempt goes to a target drawn by
weight, the others follow in order).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

MAX_TARGETS = 8
_NAME = re.compile(r"[A-Za-z0-9._:/@+*-]{1,256}")
_LANES = ("byok", "pooled")
_SETTINGS = ("retries", "timeout_s", "ttft_timeout_s", "deadline_s")
_FLAGS = ("route_around_refusals", "continue_streams")  # opt-ins, false unless set
_KNOWN = frozenset({"name", "targets", *_SETTINGS, *_FLAGS})
_TARGET_KNOWN = frozenset({"provider", "model", "lane", "weight"})


class RouteError(ValueError):
    """A route field that cannot be accepted: ``field`` names it (``targets[1].provider``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class RouteTarget:
    provider: str
    model: str
    lane: str = "byok"
    weight: float | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"provider": self.provider, "model": self.model, "lane": self.lane}
        if self.weight is not None:
            out["weight"] = self.weight
        return out


@dataclass(frozen=True, slots=True)
class RouteConfig:
    name: str
    targets: tuple[RouteTarget, ...]
    retries: int | None = None  # None: the gateway's BYOKGATE_RETRIES
    timeout_s: float | None = None  # each attempt's wait for a byte (None: BYOKGATE_UPSTREAM_TIMEOUT_S)
    ttft_timeout_s: float | None = None  # a stream's first content, while another target remains
    deadline_s: float | None = None  # the whole chain (None: BYOKGATE_REQUEST_DEADLINE_S)
    route_around_refusals: bool = False  # opt-in: a content-policy refusal fails over too
    continue_streams: bool = False  # opt-in: a fallback taking a prefill carries a broken stream on

    @property
    def pattern(self) -> bool:
        return "*" in self.name

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "targets": [target.as_json() for target in self.targets]}
        for name in _SETTINGS:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        for flag in _FLAGS:
            if getattr(self, flag):
                out[flag] = True
        return out


def route_from(value: object, name: str | None = None) -> RouteConfig:
    """A route from its JSON form (``name`` given apart, as in ``PUT .../routes/{name}``, wins)."""
    if not isinstance(value, dict):
        raise RouteError("route", "must be an object")
    unknown = sorted(set(value) - _KNOWN)
    if unknown:
        raise RouteError(unknown[0], f"unknown field (known: {', '.join(sorted(_KNOWN))})")
    name = name if name is not None else value.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name.count("*") > 1:
        raise RouteError(
            "name", "a model name or alias (letters, digits, . _ : / @ + -), with at most one * as a wildcard"
        )
    targets = value.get("targets")
    if not isinstance(targets, list) or not targets:
        raise RouteError("targets", "must be a non-empty array of targets")
    if len(targets) > MAX_TARGETS:
        raise RouteError("targets", f"at most {MAX_TARGETS} targets")
    parsed = tuple(_target(target, f"targets[{index}]", "*" in name) for index, target in enumerate(targets))
    weights = [target.weight for target in parsed if target.weight is not None]
    if weights and not any(weight > 0 for weight in weights):
        raise RouteError("targets", "when targets have weights, at least one must be above 0")
    retries = value.get("retries")
    if retries is not None and (
        not isinstance(retries, int) or isinstance(retries, bool) or not 0 <= retries <= 10
    ):
        raise RouteError("retries", "an integer from 0 to 10")
    limits = {field: _seconds(value.get(field), field) for field in _SETTINGS[1:]}
    around, carry_on = (_flag(value, flag) for flag in _FLAGS)
    return RouteConfig(
        name, parsed, retries, **limits, route_around_refusals=around, continue_streams=carry_on
    )


def _flag(value: dict[str, Any], flag: str) -> bool:
    set_to = value.get(flag, False)
    if not isinstance(set_to, bool):
        raise RouteError(flag, "must be a boolean")
    return set_to


def _target(value: object, where: str, pattern: bool) -> RouteTarget:
    if not isinstance(value, dict):
        raise RouteError(where, "must be an object with provider and model")
    unknown = sorted(set(value) - _TARGET_KNOWN)
    if unknown:
        raise RouteError(f"{where}.{unknown[0]}", "unknown field (known: provider, model, lane, weight)")
    provider = value.get("provider")
    if not isinstance(provider, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", provider):
        raise RouteError(f"{where}.provider", "a provider's registry name (openai, anthropic, ...)")
    model = value.get("model")
    if not isinstance(model, str) or not _NAME.fullmatch(model) or model.count("*") > 1:
        raise RouteError(f"{where}.model", "a model name (at most one * in a wildcard route)")
    if "*" in model and not pattern:
        raise RouteError(f"{where}.model", "* stands for what the route name's * matched: the name has none")
    lane = value.get("lane", "byok")
    if lane not in _LANES:
        raise RouteError(f"{where}.lane", "byok (the project's own key) or pooled (platform credits)")
    weight = value.get("weight")
    if weight is not None and (
        not isinstance(weight, int | float) or isinstance(weight, bool) or not 0 <= weight <= 1000
    ):
        raise RouteError(f"{where}.weight", "a number from 0 to 1000")
    return RouteTarget(provider, model, str(lane), None if weight is None else float(weight))


def _seconds(value: object, field: str) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value <= 86400:
        raise RouteError(field, "seconds, above 0 and at most 86400")
    return float(value)


def matches(pattern: str, model: str) -> str | None:
    """What the pattern's ``*`` matched in ``model`` (the whole of it for an exact name), else None."""
    if "*" not in pattern:
        return "" if pattern == model else None
    head, _, tail = pattern.partition("*")
    if len(model) < len(head) + len(tail) or not model.startswith(head) or not model.endswith(tail):
        return None
    return model[len(head) : len(model) - len(tail)]


class RouteTable:
    """A project's routes, built once per snapshot: exact names in a dict, patterns by specificity (the
    longest first, so ``claude-3-5-*`` wins over ``claude-*``)."""

    def __init__(self, routes: Iterable[RouteConfig]) -> None:
        listed = list(routes)
        self.routes = {route.name: route for route in listed}
        self._exact = {route.name: route for route in listed if not route.pattern}
        self._patterns = sorted((route for route in listed if route.pattern), key=lambda r: -len(r.name))

    def find(self, model: str) -> tuple[RouteConfig, str] | None:
        """The route ``model`` takes and what its ``*`` matched, or None."""
        exact = self._exact.get(model)
        if exact is not None:
            return exact, ""
        for route in self._patterns:
            captured = matches(route.name, model)
            if captured is not None:
                return route, captured
        return None

    def __len__(self) -> int:
        return len(self.routes)
