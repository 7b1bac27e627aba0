"""The writer process: stores the journal's sealed segments in the database, away from the serving process.

A serving gateway's batch writer (``writer.py``) seals its journal segment every flush interval and
releases it; this process, a child of the gateway, takes each released segment (an unlocked file), stores
it in one transaction with its name and removes it: the same exactly-once path as the replay at start-up.
The serving process then never runs database inserts (SQLAlchemy's work, the driver's thread holding the
GIL): what a request costs it is the journal's one ``write(2)``. The child runs at a lower priority
(``lower_priority``: the SCHED_IDLE class by default, or niceness 10): on a shared core the serving process
comes first, and segments wait on disk meanwhile (when they pile up, the serving process stores them too:
``writer.py``).

Its standard input is its lifeline: the parent writes the database URL as the first line (never in argv or
the environment), then a byte whenever it has released a segment (store it now). End of input means the
parent is gone or done: the child stores what is left, including what a killed parent held open, and
exits. SIGINT is ignored (a terminal's Ctrl-C reaches the whole process group; the parent ends the child
after its own last segment); SIGTERM is a stop like the end of input.

    python -m byokgate.telemetry.writer_process --journal-dir DIR [--interval S]   (URL on stdin)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from pathlib import Path

from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

_FORGET_EVERY_S = 3600.0  # how often the names of long-stored segments are pruned
_STOP_TIMEOUT_S = 60.0
# The child's scheduling niceness at the "low" priority: where it shares a core with the serving process, the
# kernel gives the serving process ~10x its share, so a batch being stored does not stall answers; when the
# core is idle the child runs at full speed.
_NICENESS = 10
PRIORITIES = ("idle", "low", "normal")


class WriterProcess:
    """The serving side: starts the child, tells it a segment was released, keeps it running, ends it."""

    def __init__(
        self,
        database_url: str,
        directory: Path,
        *,
        interval_s: float,
        log_level: str = "info",
        log_format: str = "json",
        priority: str = "idle",
        stop_timeout_s: float = _STOP_TIMEOUT_S,
    ) -> None:
        self._url = database_url
        self._directory = directory
        self._interval_s = interval_s
        self._log_args = ["--log-level", log_level, "--log-format", log_format, "--priority", priority]
        self._priority = priority
        self._hurried = False
        self._stop_timeout_s = stop_timeout_s
        self._process: asyncio.subprocess.Process | None = None
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        """Started and not known to have exited."""
        return self._process is not None and self._process.returncode is None

    async def start(self) -> None:
        argv = [sys.executable, "-m", "byokgate.telemetry.writer_process"]
        argv += ["--journal-dir", str(self._directory), "--interval", str(self._interval_s), *self._log_args]
        self._process = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.PIPE)
        self._hurried = False
        assert self._process.stdin is not None
        self._process.stdin.write(self._url.encode() + b"\n")

    def notify(self) -> None:
        """A segment was released: store it now (a byte on the lifeline; never waits)."""
        process = self._process
        if process is not None and process.stdin is not None and process.returncode is None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                process.stdin.write(b".")

    def hurry(self, behind: bool) -> None:
        """Segments pile up (the child gets no CPU: a saturated core): run the child at the serving process's
        own priority, sharing the core rather than waiting for idle time; once caught up, back to its own
        priority. (Should the kernel refuse, the serving process stores segments itself past a bound.)"""
        pid = self.pid
        if pid is None or behind == self._hurried or self._priority == "normal":
            return
        if behind:
            self._hurried = normal_priority(pid)
            log.warning("writer process behind: %s", "at normal priority" if self._hurried else "not raised")
        else:
            lower_priority(self._priority, pid)
            self._hurried = False
            log.warning("writer process caught up: back at %s priority", self._priority)

    async def ensure_running(self) -> None:
        """Start the child again if it died (its segments wait on disk meanwhile: nothing is lost)."""
        if self._process is not None and self._process.returncode is not None:
            log.warning("writer process exited with status %s; starting it again", self._process.returncode)
            self.restarts += 1
            await self.start()

    async def stop(self) -> None:
        """End the lifeline and wait for the child to store what is left (bounded; what it could not
        store stays on disk for the next start)."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), timeout=self._stop_timeout_s)
        except TimeoutError:
            log.warning("writer process did not finish in %.0f s; killed", self._stop_timeout_s)
            process.kill()
            await process.wait()


async def serve(database_url: str, directory: Path, interval_s: float) -> None:
    """The child's loop: store released segments when told, every ``interval_s`` anyway, and once more at
    the end of input."""
    from byokgate.store.database import Store
    from byokgate.telemetry.journal import Journal
    from byokgate.telemetry.writer import BatchWriter

    store = Store.from_url(database_url)
    writer = BatchWriter(store, journal=Journal(directory))  # never opened: it holds no segment itself
    loop = asyncio.get_running_loop()
    wake, ended = asyncio.Event(), asyncio.Event()

    def readable() -> None:
        try:
            data = os.read(0, 4096)
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(0)
            ended.set()
        wake.set()

    def terminate() -> None:
        ended.set()
        wake.set()

    loop.add_reader(0, readable)
    loop.add_signal_handler(signal.SIGTERM, terminate)
    forgotten = 0.0
    try:
        while True:
            wake.clear()
            last = ended.is_set()  # the end of input came before this pass began: it sees everything
            try:
                await writer.store_leftovers()
                if time.monotonic() - forgotten > _FORGET_EVERY_S:
                    await writer.forget_stored_names()
                    forgotten = time.monotonic()
            except Exception as exc:  # the segments stay on disk; try again on the next tick
                log.warning("writer process: storing the journal failed (%s); retrying", exc)
            if last:
                break
            if ended.is_set():
                continue  # one more whole pass: a segment released just before the end may be unseen
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=interval_s)
    finally:
        await store.close()


def lower_priority(priority: str, pid: int = 0) -> None:
    """``idle``: the kernel's SCHED_IDLE class (only the CPU no other process wants: answers always come
    first; measured, it halves the p99 of answers at concurrency 1 on a shared core against ``low``);
    ``low``: niceness 10 (about a tenth of a core shared with the serving process); ``normal``: as the
    serving process. ``pid``: of another process (0: this one)."""
    if priority == "idle":
        try:
            os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))
            return
        except (AttributeError, OSError):  # not Linux, or not allowed: the next best
            priority = "low"
    if priority == "low":
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, pid, os.getpriority(os.PRIO_PROCESS, pid) + _NICENESS)


def normal_priority(pid: int) -> bool:
    """Put another process at this one's own priority (the normal class, this niceness); False when the
    kernel refuses (leaving SCHED_IDLE or a niceness needs CAP_SYS_NICE or a high enough RLIMIT_NICE)."""
    try:
        os.sched_setscheduler(pid, os.SCHED_OTHER, os.sched_param(0))
        os.setpriority(os.PRIO_PROCESS, pid, os.getpriority(os.PRIO_PROCESS, 0))
    except (AttributeError, OSError):
        return False
    return True


def _read_url() -> str:
    """The first line of standard input (read byte-wise: what follows is the lifeline's)."""
    line = bytearray()
    while not line.endswith(b"\n"):
        byte = os.read(0, 1)
        if not byte:
            break
        line += byte
    return line.decode().strip()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="byokgate-writer", description="Store the journal's segments.")
    parser.add_argument("--journal-dir", type=Path, required=True)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--log-format", default="json", choices=("json", "text"))
    parser.add_argument("--priority", default="idle", choices=PRIORITIES)
    args = parser.parse_args(argv)
    from byokgate.logs import REDACTOR, configure_logging

    configure_logging(args.log_level, args.log_format)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    lower_priority(args.priority)
    url = _read_url()
    if not url:
        sys.exit("byokgate writer process: no database URL on standard input")
    REDACTOR.add_secret(make_url(url).password)
    asyncio.run(serve(url, args.journal_dir, args.interval))


if __name__ == "__main__":
    main()
