"""Usage reports, shared by the admin API and the CLI: the period and grouping asked for, and the rows as
JSON objects or CSV (micro-USD sums shown as decimal USD as well)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

from byokgate.errors import InvalidRequestError
from byokgate.pricing.cost import usd
from byokgate.store.usage import USAGE_GROUPS, USAGE_METRICS

GROUPS = tuple(USAGE_GROUPS)
MAX_DAYS = 366


def period(first: date | None, last: date | None, today: date | None = None) -> tuple[date, date]:
    """[first, last] in whole UTC days; by default from the 1st of this month to today."""
    today = today or datetime.now(UTC).date()
    last = last or today
    first = first or last.replace(day=1)
    if first > last:
        raise InvalidRequestError("'start' must not be after 'end'", param="start", code="invalid_period")
    if (last - first).days >= MAX_DAYS:
        raise InvalidRequestError(
            f"a report covers at most {MAX_DAYS} days", param="start", code="invalid_period"
        )
    return first, last


def grouping(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in GROUPS]
    if unknown or len(set(names)) != len(names):
        raise InvalidRequestError(
            f"group_by takes distinct names among: {', '.join(GROUPS)}",
            param="group_by",
            code="invalid_group_by",
        )
    return names


def with_usd(row: dict[str, object]) -> dict[str, object]:
    shown = dict(row)
    for name in ("cost_micro_usd", "cost_saved_micro_usd", "charged_micro_usd"):
        value = row.get(name)
        shown[name.replace("_micro_usd", "_usd")] = usd(value) if isinstance(value, int) else None
    return shown


def as_csv(rows: list[dict[str, object]], group_by: list[str]) -> str:
    columns = [*group_by, *USAGE_METRICS, "cost_usd", "cost_saved_usd", "charged_usd"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(with_usd(row))
    return out.getvalue()
