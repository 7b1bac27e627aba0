"""The limit gate on the in-process counters, with a controlled clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from byokgate.domain.entities import PROJECT_SCOPE, Limits, NewAuditEvent
from byokgate.limits.counters import MemoryCounters
from byokgate.limits.gate import DEFAULT_MAX_OUTPUT, LimitGate, RateLimitedError, estimated_usage
from byokgate.limits.redis_counters import RedisCounters


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.now = moment.timestamp()

    def __call__(self) -> float:
        return self.now


def gate_at(moment: datetime) -> tuple[LimitGate, Clock, list[NewAuditEvent]]:
    clock, events = Clock(moment), list[NewAuditEvent]()
    return LimitGate(MemoryCounters(), events.append, clock), clock, events


async def test_requests_per_minute_reset_with_the_minute() -> None:
    gate, clock, _ = gate_at(datetime(2026, 11, 30, 10, 0, 45, tzinfo=UTC))
    scopes = [(PROJECT_SCOPE, Limits(rpm=2))]
    await gate.admit("p", scopes)
    await gate.admit("p", scopes)
    with pytest.raises(RateLimitedError) as refused:
        await gate.admit("p", scopes)
    assert refused.value.status == 429
    assert refused.value.code == "rate_limit_exceeded"
    assert refused.value.headers == {
        "retry-after": "15",
        "x-ratelimit-limit-requests": "2",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "15s",
    }
    await gate.admit("other-project", scopes)  # projects count apart
    clock.now += 15
    await gate.admit("p", scopes)


async def test_a_key_limit_and_the_project_limit_both_apply() -> None:
    gate, _, _ = gate_at(datetime(2026, 11, 30, 10, 0, 0, tzinfo=UTC))
    scopes = [(PROJECT_SCOPE, Limits(rpm=3)), ("key_a", Limits(rpm=1))]
    await gate.admit("p", scopes)
    with pytest.raises(RateLimitedError, match="of this key"):
        await gate.admit("p", scopes)
    other_key = [(PROJECT_SCOPE, Limits(rpm=3))]
    await gate.admit("p", other_key)  # the refused request did not count against the project
    await gate.admit("p", other_key)
    with pytest.raises(RateLimitedError, match="requests per minute: limit 3"):
        await gate.admit("p", other_key)


async def test_tokens_are_reserved_then_settled_to_what_was_used() -> None:
    gate, _, _ = gate_at(datetime(2026, 11, 30, 10, 0, 0, tzinfo=UTC))
    scopes = [(PROJECT_SCOPE, Limits(tpm=1000))]
    held = await gate.reserve("p", "req_1", scopes, 800, None)
    with pytest.raises(RateLimitedError) as refused:
        await gate.reserve("p", "req_2", scopes, 300, None)  # 800 held + 300 > 1000
    assert refused.value.headers["x-ratelimit-limit-tokens"] == "1000"
    assert refused.value.headers["x-ratelimit-reset-tokens"] == "1m0s"
    await gate.settle(held, 100, None)  # it used 100 in the end
    await gate.reserve("p", "req_2", scopes, 300, None)
    await gate.reserve("p", "req_3", scopes, 600, None)  # 100 + 300 + 600 = 1000


async def test_a_failed_request_gives_its_reservation_back() -> None:
    gate, _, _ = gate_at(datetime(2026, 11, 30, 10, 0, 0, tzinfo=UTC))
    scopes = [(PROJECT_SCOPE, Limits(tpm=1000))]
    held = await gate.reserve("p", "req_1", scopes, 1000, None)
    await gate.settle(held, 0, 0)
    await gate.reserve("p", "req_2", scopes, 1000, None)


async def test_a_budget_stops_spend_until_the_period_ends_and_alerts_once() -> None:
    gate, clock, events = gate_at(datetime(2026, 11, 30, 23, 0, 0, tzinfo=UTC))
    scopes = [(PROJECT_SCOPE, Limits(budget_micro_usd=10_000, budget_period="day", soft_pct=50))]
    first = await gate.reserve("p", "req_1", scopes, 10, 4_000)
    await gate.settle(first, 10, 6_000)  # dearer than its worst case: the real cost counts
    assert [e.action for e in events] == ["budget.soft_limit"]
    assert events[0].detail["spent_usd"] == "0.006000"
    second = await gate.reserve("p", "req_2", scopes, 10, 3_000)
    await gate.settle(second, 10, 3_000)
    assert len(events) == 1  # once per period
    with pytest.raises(RateLimitedError) as refused:
        await gate.reserve("p", "req_3", scopes, 10, 2_000)  # 9,000 spent + 2,000 > 10,000
    assert refused.value.code == "budget_exceeded"
    assert refused.value.headers == {"retry-after": "3600"}
    clock.now += 3600  # a new day
    await gate.reserve("p", "req_3", scopes, 10, 2_000)


async def test_monthly_budgets_reset_on_the_first() -> None:
    gate, clock, _ = gate_at(datetime(2026, 2, 28, 12, 0, 0, tzinfo=UTC))
    scopes = [(PROJECT_SCOPE, Limits(budget_micro_usd=1_000))]
    await gate.reserve("p", "req_1", scopes, 1, 1_000)
    with pytest.raises(RateLimitedError) as refused:
        await gate.reserve("p", "req_2", scopes, 1, 1)
    assert refused.value.headers == {"retry-after": str(12 * 3600)}
    clock.now += 12 * 3600
    await gate.reserve("p", "req_2", scopes, 1, 1)


async def test_an_unreachable_counter_store_lets_requests_through() -> None:
    events: list[NewAuditEvent] = []
    gate = LimitGate(RedisCounters("redis://127.0.0.1:1/0"), events.append)
    scopes = [(PROJECT_SCOPE, Limits(rpm=1, tpm=1, budget_micro_usd=1))]
    for _ in range(3):
        await gate.admit("p", scopes)
        held = await gate.reserve("p", "r", scopes, 100, 100)
        await gate.settle(held, 100, 100)
    assert gate.errors >= 6


def test_the_worst_case_estimate() -> None:
    assert estimated_usage(400, {"max_tokens": 50}, "chat") == {
        "prompt_tokens": 101,
        "completion_tokens": 50,
        "total_tokens": 151,
    }
    assert (
        estimated_usage(400, {"max_completion_tokens": 70, "max_tokens": 50}, "chat")["completion_tokens"]
        == 70
    )
    assert estimated_usage(40, {}, "chat")["completion_tokens"] == DEFAULT_MAX_OUTPUT
    assert estimated_usage(40, {"max_tokens": True}, "chat")["completion_tokens"] == DEFAULT_MAX_OUTPUT
    assert estimated_usage(400, {}, "embeddings") == {
        "prompt_tokens": 101,
        "completion_tokens": 0,
        "total_tokens": 101,
    }
