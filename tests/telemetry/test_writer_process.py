"""The writer process: a real child process stores the segments the serving process releases, exactly once,
and ends when the serving side does; while a segment waits, its entries are still found in memory."""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
from pathlib import Path

import pytest

from byokgate.store.database import Store
from byokgate.telemetry.journal import SUFFIX, Journal
from byokgate.telemetry.writer import _BEHIND as BEHIND
from byokgate.telemetry.writer import _STUCK as STUCK
from byokgate.telemetry.writer import BatchWriter
from byokgate.telemetry.writer_process import WriterProcess
from tests.telemetry.test_journal import counts, hand_over, record
from tests.telemetry.test_journal import owner as owner  # a project and its key, shared fixture


async def started(store: Store, database_url: str, directory: Path) -> tuple[BatchWriter, WriterProcess, int]:
    """A started writer with its child process, and the child's pid."""
    writer, process = writer_with_process(store, database_url, directory)
    await writer.start()
    assert process.pid is not None
    return writer, process, process.pid


def writer_with_process(
    store: Store, database_url: str, directory: Path
) -> tuple[BatchWriter, WriterProcess]:
    process = WriterProcess(database_url, directory, interval_s=3600, log_format="text")
    writer = BatchWriter(store, journal=Journal(directory), flush_interval_s=3600, process=process)
    return writer, process


async def until(check: object, timeout_s: float = 30) -> None:
    """Poll an async predicate until it holds (the child works on its own time)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not await check():  # type: ignore[operator]
        assert loop.time() < deadline, "the writer process did not get there in time"
        await asyncio.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_released_segments_are_stored_by_the_child_and_found_meanwhile(
    owner: tuple[str, str], store: Store, database_url: str, tmp_path: Path
) -> None:
    pid, key_id = owner
    writer, _, child = await started(store, database_url, tmp_path / "journal")
    assert child != os.getpid()
    hand_over(writer, pid, key_id, 0, 5)
    assert writer.queued_request("req_0003") == record(pid, key_id, "req_0003")
    await writer.flush()  # sealed and released: the child is told to store it
    assert writer.queued_request("req_0003") is not None  # until its file is gone, it is in memory

    async def stored_five() -> bool:
        return await counts(store) == (5, 5, 5)

    await until(stored_five)
    await until(lambda: _flushed_away(writer))
    assert writer.queued_request("req_0003") is None  # now only the database has it
    assert writer.pending == 0
    assert writer.written == 15

    hand_over(writer, pid, key_id, 5, 2)  # handed over at shutdown: the child stores them before it exits
    await writer.aclose()
    assert not alive(child)
    assert await counts(store) == (7, 7, 7)
    assert list((tmp_path / "journal").glob(f"*{SUFFIX}")) == []


async def _flushed_away(writer: BatchWriter) -> bool:
    await writer.flush()  # forgets the batches whose segments the child removed
    return writer.pending == 0


async def test_a_child_that_died_is_started_again_and_nothing_waits_for_ever(
    owner: tuple[str, str], store: Store, database_url: str, tmp_path: Path
) -> None:
    pid, key_id = owner
    writer, process, first = await started(store, database_url, tmp_path / "journal")
    os.kill(first, signal.SIGKILL)

    async def exited() -> bool:
        return not process.running

    await until(exited)
    hand_over(writer, pid, key_id, 0, 3)
    await process.ensure_running()  # what the writer's loop does on every tick
    assert process.restarts == 1
    assert process.pid not in (None, first)
    await writer.flush()

    async def stored_three() -> bool:
        return await counts(store) == (3, 3, 3)

    await until(stored_three)
    await writer.aclose()


def test_a_segment_is_locked_before_it_has_its_name(tmp_path: Path) -> None:
    """A writer process takes any unlocked segment: one being opened must never look like one."""
    journal = Journal(tmp_path / "journal")
    journal.open()
    try:
        for _ in range(3):
            journal.append(b'["u",["k","2026-01-01T00:00:00+00:00"]]\n')
            journal.seal(release=True)
        files = sorted(p.name for p in (tmp_path / "journal").iterdir())
        assert all(name.endswith(SUFFIX) for name in files), files  # no staging file left behind
        locked = []
        for name in files:
            fd = os.open(tmp_path / "journal" / name, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                locked.append(False)
            except BlockingIOError:
                locked.append(True)
            finally:
                os.close(fd)
        assert locked == [False, False, False, True]  # three released, the open one held
    finally:
        journal.close()


@pytest.mark.parametrize("url", ["sqlite+aiosqlite://", "sqlite:///:memory:"])
def test_an_in_memory_database_is_written_in_process(url: str, tmp_path: Path) -> None:
    from byokgate.app import batch_writer
    from byokgate.settings import Settings

    settings = Settings(data_dir=tmp_path, database_url=url)
    writer = batch_writer(settings, Store.from_url(url))
    assert writer._process is None


async def test_past_the_backlogs_bound_entries_are_journaled_not_dropped(
    owner: tuple[str, str], store: Store, database_url: str, tmp_path: Path
) -> None:
    """With a writer process the journal is the queue: a full backlog only skips the copy in memory."""
    pid, key_id = owner
    process = WriterProcess(database_url, tmp_path / "journal", interval_s=3600, log_format="text")
    writer = BatchWriter(
        store, journal=Journal(tmp_path / "journal"), flush_interval_s=3600, process=process, max_pending=4
    )
    await writer.start()
    hand_over(writer, pid, key_id, 0, 6)  # 12 records and audit events against a bound of 4
    assert (writer.dropped, writer.spilled) == (0, 8)
    assert writer.queued_request("req_0001") is not None
    assert writer.queued_request("req_0005") is None  # not kept in memory...
    await writer.flush()

    async def stored_six() -> bool:
        return await counts(store) == (6, 6, 6)

    await until(stored_six)  # ...but stored all the same
    await writer.aclose()


@pytest.mark.skipif(os.geteuid() != 0, reason="leaving SCHED_IDLE needs CAP_SYS_NICE (root here)")
async def test_a_child_falling_behind_runs_at_normal_priority_until_it_catches_up(
    owner: tuple[str, str], store: Store, database_url: str, tmp_path: Path
) -> None:
    """In the idle class the child gets no CPU while the serving process saturates the core: once segments
    pile up it shares the core at the serving process's priority, and goes back to idle once caught up."""
    pid, key_id = owner
    writer, _, child = await started(store, database_url, tmp_path / "journal")

    async def idle() -> bool:
        return os.sched_getscheduler(child) == os.SCHED_IDLE

    await until(idle)  # (the child lowers its own priority once started)
    os.kill(child, signal.SIGSTOP)  # (a starved child, as far as segments go)
    try:
        for batch in range(BEHIND):
            hand_over(writer, pid, key_id, batch, 1)
            await writer.flush()
        assert os.sched_getscheduler(child) == os.SCHED_IDLE  # not yet behind
        hand_over(writer, pid, key_id, BEHIND, 1)
        await writer.flush()
        assert os.sched_getscheduler(child) == os.SCHED_OTHER
        assert os.getpriority(os.PRIO_PROCESS, child) == os.getpriority(os.PRIO_PROCESS, 0)
        assert await counts(store) == (0, 0, 0)  # the serving process itself stores nothing (not stuck)
    finally:
        os.kill(child, signal.SIGCONT)

    async def caught_up() -> bool:
        await writer.flush()
        return await counts(store) == (BEHIND + 1,) * 3 and await idle()

    await until(caught_up)
    await writer.aclose()


async def test_when_the_child_gets_no_cpu_the_serving_process_stores_segments_too(
    owner: tuple[str, str], store: Store, database_url: str, tmp_path: Path
) -> None:
    """A child that cannot run (here stopped; in life starved on a saturated core where its priority could
    not be raised) does not let segments pile up without end: past the bound the serving process stores
    them, each still exactly once."""
    pid, key_id = owner
    writer, _, child = await started(store, database_url, tmp_path / "journal")
    os.kill(child, signal.SIGSTOP)
    try:
        for batch in range(STUCK + 3):
            hand_over(writer, pid, key_id, batch, 1)
            await writer.flush()  # one released segment a flush
        stored, _, _ = await counts(store)
        assert stored >= 3  # what was past the bound
        waiting = [p for p in (tmp_path / "journal").glob(f"*{SUFFIX}") if p.stat().st_size]
        assert len(waiting) == STUCK + 3 - stored <= STUCK
    finally:
        os.kill(child, signal.SIGCONT)
        hand_over(writer, pid, key_id, 100, 1)
        await writer.aclose()  # the child stores the rest, and nothing twice
    assert await counts(store) == (STUCK + 4, STUCK + 4, STUCK + 4)
