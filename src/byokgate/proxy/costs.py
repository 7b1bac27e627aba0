"""Each request's cost on the request path: the price catalog applied to its final usage (memory only).

Non-streamed answers carry it in ``x-byokgate-cost-usd``; a stream carries it as ``usage.cost`` (USD) in its
usage chunk, since its headers left before the usage was known; the request record keeps it in micro-USD.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from byokgate.pricing.catalog import Price, PriceCatalog
from byokgate.pricing.cost import cost_micro_usd
from byokgate.routing.policy import Route

_MEMO_LIMIT = 4096


def _today() -> date:
    return datetime.now(UTC).date()


class Coster:
    def __init__(self, prices: PriceCatalog, today: Callable[[], date] = _today) -> None:
        self._prices = prices
        self._today = today
        self._day = today()
        self._day_ends = time.monotonic() + 60  # the date is looked at once a minute, not per request
        self._in_force: dict[tuple[str, str], Price | None] = {}  # today's prices, looked up once each

    def cost(self, route: Route, usage: dict[str, Any]) -> int | None:
        """Micro-USD at the list price in force today; None without usage or without a known price."""
        if not usage:
            return None
        if time.monotonic() > self._day_ends:
            self._day_ends = time.monotonic() + 60
            if self._today() != self._day:
                self._day, self._in_force = self._today(), {}
        model = (route.provider, route.upstream_model)
        if model not in self._in_force:
            if len(self._in_force) >= _MEMO_LIMIT:  # pooled names come from clients: keep the memo bounded
                self._in_force.clear()
            self._in_force[model] = self._prices.price(route.provider, route.upstream_model, self._day)
        price = self._in_force[model]
        if price is None:
            return _reported(usage)
        return cost_micro_usd(price, usage)


def _reported(usage: dict[str, Any]) -> int | None:
    """The cost the provider itself reported (OpenRouter's ``usage.cost``, USD), for models the catalog has
    no price for: a real figure, not a guess."""
    reported = usage.get("cost")
    if isinstance(reported, int | float) and not isinstance(reported, bool) and reported >= 0:
        return round(reported * 1_000_000)
    return None
