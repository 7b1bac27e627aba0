"""Plans as data (``plans.json``, or ``BYOKGATE_PLANS_FILE``): which pooled-lane model tiers each plan
includes, and how many pooled tokens it includes per period (used by the credits that come next).

A pooled model is in the first tier whose patterns (shell-style, on the OpenRouter name) match it, else in
``standard``. The BYOK lane is never restricted by a plan: the project pays its provider directly.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from byokgate.pricing.catalog import per_million

SHIPPED = Path(__file__).with_name("plans.json")
STANDARD = "standard"


class BillingPolicy(StrEnum):
    """How a project's OpenRouter-style names are paid for (native names always need the project's key)."""

    BYOK_ONLY = "byok_only"  # the project's own keys only: never platform credits
    BYOK_THEN_POOLED = "byok_then_pooled"  # its own key when it holds one, else the pooled lane
    POOLED_ONLY = "pooled_only"  # always the pooled lane, even when it holds the provider's key


DEFAULT_POLICY = BillingPolicy.BYOK_THEN_POOLED


class PlanFileError(ValueError):
    """A plans file that does not have the documented shape."""


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    title: str
    pooled_tiers: frozenset[str]
    included_tokens: int
    period: str
    grant_micro_usd: int = 0  # platform credits a new project on this plan starts with


class Plans:
    def __init__(self, plans: dict[str, Plan], tiers: dict[str, tuple[str, ...]], default: str) -> None:
        self._plans = plans
        self._tiers = tiers
        self.default = default

    @classmethod
    def load(cls, path: Path | None = None) -> Plans:
        source = path or SHIPPED
        try:
            data = json.loads(source.read_text())
            plans = {name: _plan(name, raw) for name, raw in data["plans"].items()}
            tiers = {
                name: tuple(str(p) for p in patterns) for name, patterns in data.get("tiers", {}).items()
            }
            default = str(data["default_plan"])
        except (
            OSError,
            json.JSONDecodeError,
            KeyError,
            TypeError,
            ValueError,
            AttributeError,
            ArithmeticError,
        ) as exc:
            raise PlanFileError(f"plans file {source}: {exc!r}") from None
        if default not in plans:
            raise PlanFileError(f"plans file {source}: the default plan {default!r} is not defined")
        known_tiers = {STANDARD, *tiers}
        for plan in plans.values():
            if not plan.pooled_tiers <= known_tiers:
                raise PlanFileError(f"plans file {source}: plan {plan.name} names an unknown tier")
        return cls(plans, tiers, default)

    @property
    def names(self) -> list[str]:
        return list(self._plans)

    def get(self, name: str | None) -> Plan:
        """The plan called ``name`` (a plan since removed from the file falls back to the default)."""
        return self._plans.get(name or self.default) or self._plans[self.default]

    def tier_of(self, pooled_model: str) -> str:
        for tier, patterns in self._tiers.items():
            if any(fnmatch.fnmatchcase(pooled_model, pattern) for pattern in patterns):
                return tier
        return STANDARD

    def cheapest_with(self, tier: str) -> str | None:
        """The first plan (file order) that includes ``tier``, to name in an error."""
        return next((p.title for p in self._plans.values() if tier in p.pooled_tiers), None)


def _plan(name: str, raw: dict[str, Any]) -> Plan:
    tiers = raw.get("pooled_tiers", [STANDARD])
    if not isinstance(tiers, list):
        raise ValueError(f"plan {name}: pooled_tiers must be a list")
    included = raw.get("included_tokens", 0)
    if not isinstance(included, int) or isinstance(included, bool) or included < 0:
        raise ValueError(f"plan {name}: included_tokens must be a non-negative integer")
    period = raw.get("period", "month")
    if period not in ("day", "month"):
        raise ValueError(f"plan {name}: period must be day or month")
    grant = per_million(Decimal(str(raw.get("grant_usd", 0))))  # USD x 10^6: micro-USD, exact
    if grant < 0:
        raise ValueError(f"plan {name}: grant_usd must not be negative")
    return Plan(name, str(raw.get("title", name)), frozenset(str(t) for t in tiers), included, period, grant)
