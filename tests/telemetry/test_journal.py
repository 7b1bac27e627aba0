"""The batch writer's journal: what was handed over survives the process, and is stored exactly once."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from byokgate.admin.services import ControlPlane
from byokgate.domain.entities import CreditEntry, NewAuditEvent, RequestRecord
from byokgate.store.database import Store, Transaction
from byokgate.store.tables import audit_events, credit_ledger, request_log
from byokgate.telemetry.journal import Journal
from byokgate.telemetry.writer import BatchWriter

NOW = datetime.now(UTC)


def record(project_id: str, key_id: str, request_id: str) -> RequestRecord:
    return RequestRecord(
        id=request_id,
        created_at=NOW,
        project_id=project_id,
        api_key_id=key_id,
        endpoint="chat/completions",
        lane="pooled",
        provider="openrouter",
        credential_id=None,
        requested_model="openai/gpt-4o",
        resolved_model="openai/gpt-4o",
        stream=False,
        status=200,
        error_code=None,
        latency_ms=12.5,
        upstream_ms=10.0,
        prompt_tokens=3,
        attempts=[{"provider": "openrouter", "status": 200}],
    )


async def counts(store: Store) -> tuple[int, int, int]:
    async with store.transaction() as tx:
        conn = tx.connection
        requests = (await conn.execute(select(func.count()).select_from(request_log))).scalar_one()
        events = (
            await conn.execute(
                select(func.count()).select_from(audit_events).where(audit_events.c.action == "test.crash")
            )
        ).scalar_one()
        charges = (
            await conn.execute(
                select(func.count()).select_from(credit_ledger).where(credit_ledger.c.kind == "charge")
            )
        ).scalar_one()
    return int(requests), int(events), int(charges)


def hand_over(writer: BatchWriter, project_id: str, key_id: str, first: int, count: int) -> None:
    for i in range(first, first + count):
        request_id = f"req_{i:04d}"
        writer.request(record(project_id, key_id, request_id))
        writer.audit(
            NewAuditEvent("t", "test.crash", project_id, request_id=request_id, detail={"n": i}, at=NOW)
        )
        writer.credit(CreditEntry(project_id, "charge", -(i + 1), NOW, request_id=request_id))
        writer.key_used(key_id, NOW)
    writer.commit()


@pytest.fixture
async def owner(control: ControlPlane) -> tuple[str, str]:
    """A project and its API key's id, for the records to belong to."""
    created = await control.create_project("p", actor="t")
    return created.project.id, created.api_key.key.id


def crash(journal: Journal) -> None:
    """What the kernel does to a killed process's journal: its files are closed (their locks go), nothing
    more is stored."""
    journal.close()


async def test_what_a_crashed_process_handed_over_is_stored_on_the_next_start(
    control: ControlPlane, owner: tuple[str, str], store: Store, tmp_path: Path
) -> None:
    pid, key_id = owner
    first = Journal(tmp_path / "journal")
    writer = BatchWriter(store, journal=first, flush_interval_s=3600)
    first.open()  # the writer's loop is not needed: the test flushes
    hand_over(writer, pid, key_id, 0, 5)
    await writer.flush()  # these are stored, and their segment goes
    hand_over(writer, pid, key_id, 5, 7)  # these only reach the journal
    crash(first)
    assert await counts(store) == (5, 5, 5)

    second = BatchWriter(store, journal=Journal(tmp_path / "journal"), flush_interval_s=3600)
    await second.start()
    assert second.replayed == 7 * 3
    assert await counts(store) == (12, 12, 12)
    async with store.transaction() as tx:
        replayed = await tx.requests.get("req_0011")
    assert replayed == record(pid, key_id, "req_0011")  # every field survives the journal
    assert (await control.list_api_keys(pid))[0].last_used_at == NOW
    await second.aclose()
    assert list((tmp_path / "journal").glob("*.journal")) == []


async def test_a_segment_stored_before_the_crash_removed_it_is_not_stored_twice(
    owner: tuple[str, str], store: Store, tmp_path: Path
) -> None:
    pid, key_id = owner
    journal = Journal(tmp_path / "journal")
    writer = BatchWriter(store, journal=journal, flush_interval_s=3600)
    journal.open()
    hand_over(writer, pid, key_id, 0, 4)
    kept = {path.name: path.read_bytes() for path in (tmp_path / "journal").glob("*.journal")}
    await writer.flush()  # stored, then the segment removed...
    for name, data in kept.items():  # ...but say the process died between the commit and the removal
        if data:
            (tmp_path / "journal" / name).write_bytes(data)
    crash(journal)

    again = BatchWriter(store, journal=Journal(tmp_path / "journal"), flush_interval_s=3600)
    await again.start()
    assert again.replayed == 0
    assert await counts(store) == (4, 4, 4)
    assert [p for p in (tmp_path / "journal").glob("*.journal") if p.stat().st_size] == []
    await again.aclose()


async def test_a_running_process_keeps_its_segments(
    owner: tuple[str, str], store: Store, tmp_path: Path
) -> None:
    pid, key_id = owner
    alive = BatchWriter(store, journal=Journal(tmp_path / "journal"), flush_interval_s=3600)
    await alive.start()
    hand_over(alive, pid, key_id, 0, 3)
    newcomer = BatchWriter(store, journal=Journal(tmp_path / "journal"), flush_interval_s=3600)
    await newcomer.start()  # a second instance on the same folder replays nothing of the first's
    assert newcomer.replayed == 0
    assert await counts(store) == (0, 0, 0)
    await alive.aclose()
    await newcomer.aclose()
    assert await counts(store) == (3, 3, 3)


async def test_a_torn_last_line_is_skipped_and_the_rest_stored(
    owner: tuple[str, str], store: Store, tmp_path: Path
) -> None:
    pid, key_id = owner
    journal = Journal(tmp_path / "journal")
    writer = BatchWriter(store, journal=journal, flush_interval_s=3600)
    journal.open()
    hand_over(writer, pid, key_id, 0, 2)
    crash(journal)
    (segment,) = [p for p in (tmp_path / "journal").glob("*.journal") if p.stat().st_size]
    with segment.open("ab") as torn:  # what a power loss can leave: a line cut short
        torn.write(b'["r",{"id":"req_9999","created_')
    os.sync()

    again = BatchWriter(store, journal=Journal(tmp_path / "journal"), flush_interval_s=3600)
    await again.start()
    assert await counts(store) == (2, 2, 2)
    await again.aclose()


async def test_a_batch_stored_but_not_acknowledged_is_not_stored_again(
    owner: tuple[str, str], store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid, key_id = owner
    journal = Journal(tmp_path / "journal")
    journal.open()
    writer = BatchWriter(store, journal=journal, flush_interval_s=3600)
    hand_over(writer, pid, key_id, 0, 3)
    real, lost = store.transaction, [True]

    @asynccontextmanager
    async def answer_lost_once() -> AsyncIterator[Transaction]:
        async with real() as tx:
            yield tx
        if lost[0]:  # the commit went through, but its answer never came back
            lost[0] = False
            raise ConnectionResetError("connection lost after COMMIT")

    monkeypatch.setattr(store, "transaction", answer_lost_once)
    await writer.flush()  # the segment's stored name says the batch is in: nothing is written twice
    assert await counts(store) == (3, 3, 3)
    assert (writer.dropped, writer.pending) == (0, 0)
    await writer.aclose()
