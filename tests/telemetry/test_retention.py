"""Retention by age per project of the request log and of request bodies: whole days' partitions dropped on
PostgreSQL, bounded batch deletes elsewhere, usage aggregates kept."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from byokgate.admin.services import ControlPlane
from byokgate.domain.entities import RequestBody
from byokgate.store import partitions
from byokgate.store.database import Store
from byokgate.store.tables import request_bodies, request_log, usage_daily
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
        await tx.projects.set_days(short, "log_retention_days", 7, NOW)
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


async def kept_bodies(store: Store, project_id: str) -> list[int]:
    async with store.transaction() as tx:
        rows = await tx.connection.execute(
            select(request_bodies.c.created_at).where(request_bodies.c.project_id == project_id)
        )
        return sorted((NOW - row[0]).days for row in rows)


async def test_bodies_go_after_their_own_days_and_the_records_stay(
    control: ControlPlane, store: Store
) -> None:
    opted = (await control.create_project("opted", actor="t")).project.id
    stopped = (await control.create_project("stopped", actor="t")).project.id  # kept some, then stopped
    async with store.transaction() as tx:
        await tx.projects.set_days(opted, "log_bodies_days", 7, NOW)
        for age in AGES:
            day = (NOW - timedelta(days=age)).date()
            if store.backend == "postgresql":
                await tx.connection.run_sync(partitions.ensure, day, day)
                await tx.connection.run_sync(partitions.ensure, day, day, partitions.BODIES)
        for project_id in (opted, stopped):
            for n, age in enumerate(AGES):
                at = NOW - timedelta(days=age)
                made = replace(record(project_id, "key_1", f"req_{project_id}_{n}"), created_at=at)
                await tx.requests.append_many([made])
                await tx.bodies.append_many([RequestBody(made.id, at, project_id, "{}", "{}")])
    run = await Retention(store, default_days=30, batch=1).run_once(NOW)

    assert await kept_bodies(store, opted) == [1]
    assert await kept_bodies(store, stopped) == [1, 10]  # the longest bodies may be kept: 30 days
    assert await kept(store, opted) == [1, 10]  # its records keep their own retention (30 days)
    if store.backend == "postgresql":
        forty = (NOW - timedelta(days=40)).date()
        assert partitions.name(forty, partitions.BODIES) in run.dropped
    async with store.transaction() as tx:
        assert await tx.bodies.get(opted, f"req_{opted}_2") == RequestBody(
            f"req_{opted}_2", NOW - timedelta(days=1), opted, "{}", "{}"
        )
