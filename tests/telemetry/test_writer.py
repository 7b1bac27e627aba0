from __future__ import annotations

from datetime import UTC, datetime, timedelta

from byokgate.admin.services import ControlPlane
from byokgate.domain.entities import NewAuditEvent, RequestRecord
from byokgate.store.audit import AuditQuery
from byokgate.store.database import Store
from byokgate.telemetry.writer import BatchWriter

NOW = datetime.now(UTC)


async def test_key_use_and_audit_events_are_written_in_batches(control: ControlPlane, store: Store) -> None:
    created = await control.create_project("p", actor="t")
    pid, key_id = created.project.id, created.api_key.key.id
    writer = BatchWriter(store, flush_interval_s=3600, batch_size=3)
    for i in range(7):
        writer.key_used(key_id, NOW + timedelta(seconds=i))
        writer.audit(
            NewAuditEvent(
                "data-plane", "provider_key.use", pid, "openai", "cred_x", key_id, request_id=f"req_{i}"
            )
        )
    writer.key_used(key_id, NOW)  # older than what is queued: ignored
    assert writer.pending == 8
    await writer.flush()
    assert writer.pending == 0
    assert writer.written == 7
    uses = await control.audit_log(pid, query=AuditQuery(action="provider_key.use"), limit=100)
    assert [e.request_id for e in uses] == [f"req_{i}" for i in reversed(range(7))]
    keys = await control.list_api_keys(pid)
    assert keys[0].last_used_at == NOW + timedelta(seconds=6)


async def test_full_queue_drops_and_counts_instead_of_blocking(store: Store) -> None:
    writer = BatchWriter(store, max_pending=2)
    for i in range(5):
        writer.audit(NewAuditEvent("t", "x", "proj", request_id=str(i)))
    assert writer.pending == 2
    assert writer.dropped == 3


async def test_close_flushes_what_is_left(control: ControlPlane, store: Store) -> None:
    pid = (await control.create_project("p", actor="t")).project.id
    writer = BatchWriter(store, flush_interval_s=3600)
    await writer.start()
    writer.audit(NewAuditEvent("t", "provider_key.use", pid))
    await writer.aclose()
    assert [e.action for e in await control.audit_log(pid, limit=1)] == ["provider_key.use"]


async def test_a_row_the_database_refuses_is_dropped_without_blocking_the_rest(
    control: ControlPlane, store: Store
) -> None:
    pid = (await control.create_project("p", actor="t")).project.id
    writer = BatchWriter(store, flush_interval_s=3600)

    def record(request_id: str) -> RequestRecord:
        return RequestRecord(
            id=request_id,
            created_at=NOW,
            project_id=pid,
            api_key_id="key_x",
            endpoint="chat/completions",
            lane=None,
            provider=None,
            credential_id=None,
            requested_model=None,
            resolved_model=None,
            stream=False,
            status=200,
            error_code=None,
            latency_ms=1.0,
            upstream_ms=None,
        )

    writer.request(record("req_a"))
    await writer.flush()
    for request_id in ("req_b", "req_a", "req_c"):  # req_a again: its primary key is taken
        writer.request(record(request_id))
    writer.audit(NewAuditEvent("t", "provider_key.use", pid, request_id="req_c"))
    await writer.flush()  # no exception, nothing left queued for ever
    assert writer.pending == 0
    assert writer.dropped == 1
    stored = await control.request_log(pid, limit=10)
    assert sorted(r.id for r in stored) == ["req_a", "req_b", "req_c"]
    uses = await control.audit_log(pid, query=AuditQuery(action="provider_key.use"), limit=5)
    assert [e.request_id for e in uses] == ["req_c"]
