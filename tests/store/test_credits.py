"""The credit ledger and accounts on SQLite and PostgreSQL: the account always equals the ledger's sums."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from byokgate.admin.services import ControlPlane
from byokgate.domain.entities import CreditEntry
from byokgate.store.audit import AuditQuery
from byokgate.store.database import Store

NOW = datetime(2026, 11, 30, tzinfo=UTC)
amounts = st.integers(min_value=-5_000_000, max_value=5_000_000).filter(lambda a: a != 0)
batches = st.lists(st.lists(amounts, min_size=1, max_size=5), min_size=1, max_size=6)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=batches)
async def test_the_account_is_the_sum_of_the_ledger(
    control: ControlPlane, store: Store, batches: list[list[int]]
) -> None:
    pid = (await control.create_project("p", actor="t")).project.id  # starts with the default plan's grant
    for batch in batches:
        entries = [
            CreditEntry(pid, "charge" if a < 0 else "topup", a, NOW, request_id=f"req_{i}")
            for i, a in enumerate(batch)
        ]
        async with store.transaction() as tx:
            await tx.credits.record(entries, NOW)
    async with store.transaction() as tx:
        account = await tx.credits.account(pid)
        ledger = await tx.credits.entries(pid, limit=10_000)
    assert account.granted_micro_usd == sum(e.amount_micro_usd for e in ledger if e.amount_micro_usd > 0)
    assert account.charged_micro_usd == -sum(e.amount_micro_usd for e in ledger if e.amount_micro_usd < 0)
    assert account.balance_micro_usd == sum(e.amount_micro_usd for e in ledger)
    assert ledger[-1].kind == "grant"  # the oldest entry: the free preview's starting credits
    ids = [e.id or 0 for e in ledger]
    assert ids == sorted(ids, reverse=True)


async def test_credits_added_through_the_control_plane(control: ControlPlane) -> None:
    pid = (await control.create_project("p", actor="t")).project.id
    account = await control.add_credits(pid, "topup", 2_500_000, "invoice 42", actor="admin")
    assert account.granted_micro_usd == 1_000_000 + 2_500_000
    _, entries = await control.credits(pid)
    assert [(e.kind, e.amount_micro_usd, e.note) for e in entries] == [
        ("topup", 2_500_000, "invoice 42"),
        ("grant", 1_000_000, "Free preview plan"),
    ]
    audit = await control.audit_log(pid, query=AuditQuery(action="credits.add"), limit=5)
    assert audit[0].detail == {"kind": "topup", "amount_micro_usd": 2_500_000}
