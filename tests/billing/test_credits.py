"""Credit holds and charges on the in-process counters and on the real Redis."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from byokgate.billing.credits import CreditGate, InsufficientCreditsError
from byokgate.billing.plans import Plan
from byokgate.domain.entities import CreditAccount, CreditEntry
from byokgate.limits.counters import Counters
from byokgate.limits.redis_counters import RedisCounters


def project() -> str:
    return f"proj_{uuid.uuid4().hex[:12]}"


async def test_holds_then_charges_what_was_used(counters: Counters) -> None:
    ledger: list[CreditEntry] = []
    gate = CreditGate(counters, ledger.append)
    pid = project()
    account = CreditAccount(granted_micro_usd=1_000, charged_micro_usd=200)  # 800 left, as the database says
    first = await gate.hold(pid, "req_1", account, 500)
    with pytest.raises(InsufficientCreditsError) as refused:
        await gate.hold(pid, "req_2", account, 400)  # 500 held + 400 > 800
    assert refused.value.status == 402
    assert refused.value.code == "insufficient_credits"
    await gate.charge(first, 100)  # it cost less than its worst case
    second = await gate.hold(pid, "req_2", account, 700)  # 100 spent + 700 = 800
    await gate.charge(second, 0)  # failed before an answer: nothing charged
    assert [(e.kind, e.amount_micro_usd, e.request_id) for e in ledger] == [("charge", -100, "req_1")]
    with pytest.raises(InsufficientCreditsError):
        await gate.hold(pid, "req_3", account, 701)
    more = CreditAccount(granted_micro_usd=2_000, charged_micro_usd=300)  # a top-up; the charge has landed
    await gate.hold(pid, "req_3", more, 1_700)  # the spent total stays the counters' own: 200 + 100


async def test_concurrent_holds_never_pass_the_balance(counters: Counters) -> None:
    gate = CreditGate(counters, lambda entry: None)
    pid, account = project(), CreditAccount(granted_micro_usd=10_000)
    outcomes = await asyncio.gather(
        *(gate.hold(pid, f"req_{i}", account, 1_000) for i in range(100)), return_exceptions=True
    )
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 10
    assert all(isinstance(o, InsufficientCreditsError) for o in outcomes if isinstance(o, BaseException))


@pytest.mark.redis
async def test_instances_share_one_balance_through_redis(redis_url: str) -> None:
    instances = [RedisCounters(redis_url) for _ in range(3)]
    gates = [CreditGate(c, lambda entry: None) for c in instances]
    pid, account = project(), CreditAccount(granted_micro_usd=5_000)
    try:
        holds = await asyncio.gather(
            *(gates[i % 3].hold(pid, f"req_{i}", account, 1_000) for i in range(30)), return_exceptions=True
        )
        granted = [h for h in holds if not isinstance(h, BaseException)]
        assert len(granted) == 5
        await asyncio.gather(*(gates[0].charge(h, 1_000) for h in granted))
        with pytest.raises(InsufficientCreditsError):
            await gates[2].hold(pid, "req_late", account, 1)
    finally:
        for instance in instances:
            await instance.aclose()


async def test_unreachable_counters_let_requests_through_and_still_record_charges() -> None:
    ledger: list[CreditEntry] = []
    gate = CreditGate(RedisCounters("redis://127.0.0.1:1/0"), ledger.append)
    held = await gate.hold("p", "req_1", CreditAccount(), 10)  # no credits, but no way to know
    await gate.charge(held, 7)
    assert gate.errors == 2
    assert [e.amount_micro_usd for e in ledger] == [-7]


async def test_included_tokens_cover_requests_until_used_up(counters: Counters) -> None:
    ledger: list[CreditEntry] = []
    gate = CreditGate(counters, ledger.append)
    plan = Plan("p", "P", frozenset({"standard"}), included_tokens=1_000, period="month")
    pid, account = project(), CreditAccount(granted_micro_usd=50)
    first = await gate.hold(pid, "req_1", account, 40, tokens=900, plan=plan)
    assert first.covered
    assert first.amount == 0
    second = await gate.hold(pid, "req_2", account, 40, tokens=200, plan=plan)  # 900 + 200 > 1,000
    assert not second.covered
    assert second.amount == 40
    await gate.charge(first, 35, tokens=100)  # it used 100 of the 900 it held
    await gate.charge(second, 30)
    third = await gate.hold(pid, "req_3", account, 40, tokens=800, plan=plan)  # 100 + 800 fit again
    assert third.covered
    await gate.charge(third, 12)
    assert [(e.request_id, e.amount_micro_usd) for e in ledger] == [("req_2", -30)]  # credits paid once
