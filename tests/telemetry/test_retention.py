"""Request-log retention by age per project: whole days' partitions dropped on PostgreSQL, bounded batch
deletes elsewhere, usage aggregates kept."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from byokgate.admin.services import ControlPlane
from byokgate.store import partitions
from byokgate.store.database import Store
from byokgate.store.tables import request_log, usage_daily
from byokgate.telemetry.retention import Retention
from tests.telemetry.test_journal import record

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
AGES = (40, 10, 1)  # days before NOW


async def kept(store: Store, project_id: str) -> list[int]:
    async with store.transaction() as tx:
        rows = await tx.connection.execute(
            select(request_log.c.created_at).where(request_log.c.project_id == project_id)
        )
        return sorted((NOW - row[0]).days for row in rows)


async def test_each_project_keeps_its_records_as_long_as_it_says(control: ControlPlane, store: Store) -> None:
    short = (await control.create_project("short", actor="t")).project.id
    default = (await control.create_project("default", actor="t")).project.id
    async with store.transaction() as tx:
        await tx.projects.set_log_retention(short, 7, NOW)
        if store.backend == "postgresql":
            for age in AGES:
                day = (NOW - timedelta(days=age)).date()
                await tx.connection.run_sync(partitions.ensure, day, day)
        for project_id in (short, default):
            for n, age in enumerate(AGES):
                made = record(project_id, "key_1", f"req_{project_id}_{n}")
                await tx.requests.append_many([replace(made, created_at=NOW - timedelta(days=age))])
    retention = Retention(store, default_days=30, batch=1)  # one row per batch: the batches are bounded
    run = await retention.run_once(NOW)

    assert await kept(store, short) == [1]
    assert await kept(store, default) == [1, 10]
    if store.backend == "postgresql":
        forty = partitions.name((NOW - timedelta(days=40)).date())
        assert run.dropped == [forty]  # the day past every project's retention went whole
        assert run.deleted == 1  # the short project's 10-day-old row, deleted
        async with store.transaction() as tx:
            days = await tx.connection.run_sync(partitions.existing)
        assert (NOW + timedelta(days=7)).date() in days  # partitions are made ahead
    else:
        assert run.deleted == 3
    async with store.transaction() as tx:  # usage reports keep their history
        requests = (await tx.connection.execute(select(func.sum(usage_daily.c.requests)))).scalar()
    assert requests == 6
    again = await retention.run_once(NOW)
    assert (again.dropped, again.deleted) == ([], 0)
