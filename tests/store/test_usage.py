"""Usage reports summed by the database (SQLite and PostgreSQL) over the request log."""

from __future__ import annotations

from datetime import UTC, date, datetime

from byokgate.admin.services import ControlPlane
from byokgate.domain.entities import RequestRecord
from byokgate.store.database import Store


def record(n: int, project_id: str, at: datetime, **fields: object) -> RequestRecord:
    base: dict[str, object] = {
        "id": f"req_{n:032x}",
        "created_at": at,
        "project_id": project_id,
        "api_key_id": "key_a",
        "endpoint": "chat/completions",
        "lane": "byok",
        "provider": "openai",
        "credential_id": None,
        "requested_model": "gpt-4o",
        "resolved_model": "gpt-4o",
        "stream": False,
        "status": 200,
        "error_code": None,
        "latency_ms": 1.0,
        "upstream_ms": 1.0,
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "total_tokens": 15,
        "cost_micro_usd": 75,
    }
    return RequestRecord(**{**base, **fields})  # type: ignore[arg-type]


async def test_sums_per_day_model_and_key(control: ControlPlane, store: Store) -> None:
    pid = (await control.create_project("p", actor="t")).project.id
    other = (await control.create_project("q", actor="t")).project.id
    day1 = datetime(2026, 11, 2, 23, 59, 59, tzinfo=UTC)
    day2 = datetime(2026, 11, 3, 0, 0, 1, tzinfo=UTC)
    records = [
        record(1, pid, day1),
        record(2, pid, day1, resolved_model="gpt-4o-mini", cost_micro_usd=3, cached_tokens=4),
        record(3, pid, day2, cache="HIT", cost_micro_usd=0, cost_saved_micro_usd=75),
        record(
            4,
            pid,
            day2,
            status=429,
            prompt_tokens=None,
            completion_tokens=None,
            total_tokens=None,
            cost_micro_usd=None,
            api_key_id="key_b",
        ),
        record(5, pid, day2, cost_micro_usd=None),  # tokens but no known price
        record(
            8,
            pid,
            day2,
            lane="pooled",
            cost_micro_usd=40,
            charged_micro_usd=40,
            total_tokens=0,
            prompt_tokens=0,
            completion_tokens=0,
        ),
        record(6, other, day2),  # another project
        record(7, pid, datetime(2026, 11, 4, 0, 0, 0, tzinfo=UTC)),  # after the period
    ]
    async with store.transaction() as tx:
        await tx.requests.append_many(records)

    by_day = await control.usage(pid, date(2026, 11, 1), date(2026, 11, 3), ["day"])
    assert by_day == [
        {
            "day": "2026-11-02",
            "requests": 2,
            "errors": 0,
            "cache_hits": 0,
            "prompt_tokens": 20,
            "completion_tokens": 10,
            "total_tokens": 30,
            "cached_tokens": 4,
            "cost_micro_usd": 78,
            "cost_saved_micro_usd": 0,
            "charged_micro_usd": 0,
            "unpriced_requests": 0,
        },
        {
            "day": "2026-11-03",
            "requests": 4,
            "errors": 1,
            "cache_hits": 1,
            "prompt_tokens": 20,
            "completion_tokens": 10,
            "total_tokens": 30,
            "cached_tokens": 0,
            "cost_micro_usd": 40,
            "cost_saved_micro_usd": 75,
            "charged_micro_usd": 40,
            "unpriced_requests": 1,
        },
    ]
    by_model_key = await control.usage(pid, date(2026, 11, 1), date(2026, 11, 30), ["model", "api_key"])
    assert [(r["model"], r["api_key"], r["requests"], r["cost_micro_usd"]) for r in by_model_key] == [
        ("gpt-4o", "key_a", 5, 190),
        ("gpt-4o", "key_b", 1, 0),
        ("gpt-4o-mini", "key_a", 1, 3),
    ]
    assert await control.usage(pid, date(2026, 10, 1), date(2026, 10, 31), ["day"]) == []
