"""Retention by age, per project, of the request log and of the request bodies, run in the background by
each serving instance.

A project keeps its records ``log_retention_days`` (its own setting, else ``BYOKGATE_LOG_RETENTION_DAYS``). On
PostgreSQL the log is partitioned by day (``store/partitions.py``): the partitions of the coming days are made
ahead, and the days older than the longest retention any project has are dropped whole; a project that keeps
its records less long than that has its older rows deleted in bounded batches. On SQLite every deletion is in
bounded batches. Usage aggregates are never deleted: reports keep their history. Request bodies (kept by the
projects that opt in) go the same way, after their own days (at most ``MAX_BODY_DAYS``, never longer than the
project's records). One instance at a time does the partition work (an advisory lock); deletions are
idempotent.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from byokgate.store import partitions
from byokgate.store.database import Store
from byokgate.tasks import cancel_and_wait

log = logging.getLogger(__name__)

DAYS_AHEAD = 7  # partitions made ahead of today
MAX_BATCHES = 100  # per project and run: a long backlog is worked off over several runs
MAX_BODY_DAYS = 30  # the longest a project may keep request bodies


@dataclass(slots=True)
class RetentionRun:
    made: list[str] = field(default_factory=list)  # partitions made
    dropped: list[str] = field(default_factory=list)  # partitions dropped
    deleted: int = 0  # rows deleted in batches


class Retention:
    def __init__(
        self, store: Store, *, default_days: int, interval_s: float = 3600.0, batch: int = 5000
    ) -> None:
        self._store = store
        self._default_days = default_days
        self._interval_s = interval_s
        self._batch = batch
        self._task: asyncio.Task[None] | None = None

    async def run_once(self, now: datetime | None = None) -> RetentionRun:
        now = now or datetime.now(UTC)
        run = RetentionRun()
        async with self._store.transaction() as tx:
            kept = await tx.projects.log_retention()
            bodies = await tx.projects.log_bodies()
        records = {pid: days if days is not None else self._default_days for pid, days in kept.items()}
        # Bodies: their own days (a project that stopped keeping them: the longest allowed), never longer
        # than the project's records.
        kept_bodies = {pid: min(bodies.get(pid, MAX_BODY_DAYS), days) for pid, days in records.items()}
        for table, days_of, fallback in (
            (partitions.PARENT, records, self._default_days),
            (partitions.BODIES, kept_bodies, min(MAX_BODY_DAYS, self._default_days)),
        ):
            await self._expire(table, days_of, max([fallback, *days_of.values()]), now, run)
        if run.dropped or run.deleted:
            log.info("retention: dropped %d partition(s), deleted %d row(s)", len(run.dropped), run.deleted)
        return run

    async def _expire(
        self, table: str, days_of: dict[str, int], longest: int, now: datetime, run: RetentionRun
    ) -> None:
        """Expire ``table``'s rows: each project's past its days, anyone's past the longest."""
        postgres = self._store.backend == "postgresql"
        if postgres:
            today = now.date()
            async with self._store.transaction() as tx:
                conn = tx.connection
                if await conn.run_sync(partitions.try_lock):
                    run.made += await conn.run_sync(
                        partitions.ensure, today, today + timedelta(days=DAYS_AHEAD), table
                    )
                    cutoff_day = today - timedelta(days=longest)
                    run.dropped += await conn.run_sync(partitions.drop_before, cutoff_day, table)
        for project_id, keep in days_of.items():
            if postgres and keep >= longest:
                continue  # the partitions dropped above were its only old rows
            run.deleted += await self._delete_before(table, project_id, now - timedelta(days=keep))
        # Rows of deleted projects (and, on PostgreSQL, of the default partition) past the longest retention.
        run.deleted += await self._delete_before(table, None, now - timedelta(days=longest))

    async def _delete_before(self, table: str, project_id: str | None, cutoff: datetime) -> int:
        deleted = 0
        for _ in range(MAX_BATCHES):
            async with self._store.transaction() as tx:
                rows = tx.requests if table == partitions.PARENT else tx.bodies
                count = await rows.delete_before(project_id, cutoff, self._batch)
            deleted += count
            if count < self._batch:
                break
        return deleted

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="byokgate-retention")

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the next run tries again
                log.warning("retention run failed (%s: %s)", type(exc).__name__, exc)
            await asyncio.sleep(self._interval_s)

    async def aclose(self) -> None:
        await cancel_and_wait(self._task)
