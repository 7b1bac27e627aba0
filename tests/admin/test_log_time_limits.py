"""Request-log and audit pages with a time limit (the dashboard's): on PostgreSQL a search that runs past it
(a filter nothing recent matches, over many rows) is refused with how to narrow it, and the connection it ran
on serves the next page; without a limit the same search answers. SQLite has no such limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from byokgate.admin.request_log import RequestLog
from byokgate.admin.services import ControlPlane
from byokgate.errors import InvalidRequestError
from byokgate.store import partitions
from byokgate.store.audit import AuditQuery
from byokgate.store.requests import RequestQuery

ROWS = 200_000


async def fill(control: ControlPlane, project_id: str) -> None:
    """``ROWS`` answered requests of the last minutes and as many key-use events, written by the database."""
    now = datetime.now(UTC)
    async with control.store.transaction() as tx:
        if control.store.backend == "postgresql":
            await tx.connection.run_sync(partitions.ensure, (now - timedelta(days=1)).date(), now.date())
        await tx.connection.exec_driver_sql(
            "INSERT INTO request_log (id, created_at, project_id, api_key_id, endpoint, stream, status, "
            "latency_ms) SELECT 'req_' || n, $1::timestamptz - n * interval '1 millisecond', $2, 'key_x', "
            "'chat/completions', false, 200, 1.0 FROM generate_series(1, $3) AS n",
            (now, project_id, ROWS),
        )
        await tx.connection.exec_driver_sql(
            "INSERT INTO audit_events (at, actor, action, project_id, outcome, detail) "
            "SELECT $1::timestamptz - n * interval '1 millisecond', 'data-plane', 'provider_key.use', $2, "
            "'ok', '{}' FROM generate_series(1, $3) AS n",
            (now, project_id, ROWS),
        )


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_search_past_its_time_limit_is_refused_and_the_next_one_answers(
    control: ControlPlane,
) -> None:
    project_id = (await control.create_project("big", actor="test")).project.id
    await fill(control, project_id)
    log = RequestLog(control, default_retention_days=30)
    nothing = RequestQuery(status="599")  # no request matches: the whole project is searched

    with pytest.raises(InvalidRequestError) as refused:
        await log.page(project_id, nothing, limit=51, time_limit_s=0.001)
    assert refused.value.code == "query_too_slow"
    assert "Narrow the search with a time range" in refused.value.message

    newest = await log.page(project_id, RequestQuery(), limit=51, time_limit_s=5)
    assert len(newest) == 51  # the limit was the refused transaction's only
    assert await log.page(project_id, nothing, limit=51) == []  # no limit: it answers, however long
    recent = RequestQuery(status="599", start=datetime.now(UTC) - timedelta(seconds=1))
    assert await log.page(project_id, recent, limit=51, time_limit_s=5) == []  # narrowed: within it


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_an_audit_search_past_its_time_limit_is_refused(control: ControlPlane) -> None:
    project_id = (await control.create_project("busy", actor="test")).project.id
    await fill(control, project_id)
    log = RequestLog(control, default_retention_days=30)
    nothing = AuditQuery(action="route.delete")  # none: the whole project's trail is searched

    with pytest.raises(InvalidRequestError) as refused:
        await log.audit_page(project_id, nothing, limit=51, time_limit_s=0.001)
    assert refused.value.code == "query_too_slow"
    assert "these audit events took too long" in refused.value.message
    assert len(await log.audit_page(project_id, AuditQuery(), limit=51, time_limit_s=5)) == 51
    assert await log.audit_page(project_id, nothing, limit=51) == []
