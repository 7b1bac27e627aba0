"""A project's usage: requests, tokens, cost, cache hits and savings, errors over the last 7, 30 or 90 days
(a chart by day, drawn by the vendored uPlot, and the same numbers as tables), split by model, provider,
lane (BYOK spend and pooled spend apart) and project key; its plan, credit balance and latest ledger
entries. Read from the daily aggregates (``usage_daily``), never from the request log: as fast at 10 million
requests as at ten.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from byokgate.dashboard.pages import Dashboard

PERIODS = (7, 30, 90)
SPLITS = (("model", "Model"), ("provider", "Provider"), ("lane", "Lane"), ("api_key", "Project key"))


@dataclass(frozen=True, slots=True)
class Totals:
    requests: int
    errors: int
    cache_hits: int
    prompt_tokens: int
    completion_tokens: int
    cost_micro_usd: int
    saved_micro_usd: int
    charged_micro_usd: int

    @classmethod
    def of(cls, rows: list[dict[str, Any]]) -> Totals:
        def total(name: str) -> int:
            return sum(int(row.get(name) or 0) for row in rows)

        return cls(
            total("requests"),
            total("errors"),
            total("cache_hits"),
            total("prompt_tokens"),
            total("completion_tokens"),
            total("cost_micro_usd"),
            total("cost_saved_micro_usd"),
            total("charged_micro_usd"),
        )

    @property
    def hit_rate(self) -> float:
        return self.cache_hits / self.requests if self.requests else 0.0


class UsagePages:
    def __init__(self, dashboard: Dashboard) -> None:
        self._dashboard = dashboard
        self._control = dashboard.control

    async def page(self, request: Request) -> Response:
        access = await self._dashboard.access(request, request.path_params["project_id"], write=False)
        if isinstance(access, Response):
            return access
        session, project, _ = access
        days = {str(period): period for period in PERIODS}.get(request.query_params.get("days", ""), 30)
        last = datetime.now(UTC).date()
        first = last - timedelta(days=days - 1)
        by_day = {row["day"]: row for row in await self._control.usage(project.id, first, last, ["day"])}
        splits = {name: await self._control.usage(project.id, first, last, [name]) for name, _ in SPLITS}
        billing = await self._control.billing(project.id)
        plan = self._control.plans.get(billing.plan)
        account, ledger = await self._control.credits(project.id, limit=20)
        period_first = last.replace(day=1) if plan.period == "month" else last
        in_period = await self._control.usage(project.id, period_first, last, ["lane"])
        pooled_tokens = sum(_count(row, "total_tokens") for row in in_period if row["lane"] == "pooled")
        lanes = {row["lane"]: _count(row, "cost_micro_usd") for row in splits["lane"]}
        return self._dashboard.render_project(
            "usage.html",
            session,
            project,
            "usage",
            days=days,
            periods=PERIODS,
            daily=_daily(by_day, first, last),
            totals=Totals.of(list(by_day.values())),
            splits=[(name, title, rows) for (name, title), rows in zip(SPLITS, splits.values(), strict=True)],
            chart=_chart(by_day, first, last),
            plan=plan.title,
            included=(min(pooled_tokens, plan.included_tokens), plan.included_tokens, plan.period),
            spend=(lanes.get("byok", 0), lanes.get("pooled", 0)),
            policy=billing.policy,
            balance=account.balance_micro_usd,
            ledger=ledger,
        )


def _count(row: dict[str, object], name: str) -> int:
    value = row.get(name)
    return value if isinstance(value, int) else 0


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _daily(by_day: dict[Any, dict[str, Any]], first: date, last: date) -> list[dict[str, Any]]:
    """Every day of the period, newest first, zeros where nothing was used."""
    return [by_day.get(day.isoformat(), {"day": day.isoformat()}) for day in reversed(_days(first, last))]


def _chart(by_day: dict[Any, dict[str, Any]], first: date, last: date) -> str:
    """The charts' data as uPlot takes it (x: Unix seconds; then requests, errors, cost in USD, tokens and
    cache hits by day), as JSON for a data attribute (the page's policy allows no inline script)."""
    days = _days(first, last)
    xs = [int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()) for d in days]
    rows = [by_day.get(d.isoformat(), {}) for d in days]

    def series(name: str) -> list[int]:
        return [int(row.get(name) or 0) for row in rows]

    cost = [value / 1e6 for value in series("cost_micro_usd")]
    return orjson.dumps(
        [xs, series("requests"), series("errors"), cost, series("total_tokens"), series("cache_hits")]
    ).decode()
