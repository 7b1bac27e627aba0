"""A batching writer: the hot path hands records over without waiting; a background task stores them.

Everything handed over is also appended to the local journal (``journal.py``) and written to it when the
data plane commits, just before the last bytes of an answer go out: a crash loses nothing a client was
told about. The writer seals the journal's open segment every flush interval (or sooner, by size); each
sealed segment is stored in one transaction with the segment's name, the file goes once that has
committed, and segments a crash left behind are replayed on start, exactly once.

Who stores a sealed segment: with a writer process (``writer_process.py``, a serving gateway's default),
that child process, which takes the segment once this one releases it, so the serving process runs no
database work for its records; without one (no journal, an in-memory database, the CLI, most tests), this
writer itself, in a background task. Either way through ``_store_batch``. Until a segment is stored, its
entries stay in memory here (``queued_request`` finds a request in them).

Last-used times are coalesced per key (only the newest matters); records and audit events are bounded, and
when the backlog is full the newest is dropped and counted rather than slowing requests down. Charges are
never dropped: money is not telemetry.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from byokgate.domain.entities import KEY_USE, CreditEntry, NewAuditEvent, RequestBody, RequestRecord
from byokgate.store.database import Store, Transaction
from byokgate.tasks import cancel_and_wait
from byokgate.telemetry.journal import Entries, Journal, encode, encode_used
from byokgate.telemetry.writer_process import WriterProcess

log = logging.getLogger(__name__)

_KEEP_SEGMENT_NAMES = timedelta(days=7)  # how long the names of stored segments are kept
# Released segments waiting for the writer process (about a flush interval each) past which it runs at the
# serving process's own priority (at a low one it gets no CPU while the core is saturated), and past which,
# should that not help (the kernel refused, or the child hangs), the serving process stores them too (on
# its own core's time and with the database driver's thread contending for its GIL: the last resort).
_BEHIND = 10
_STUCK = 3 * _BEHIND
Write = Callable[[Transaction], Awaitable[None]]


class BatchWriter:
    def __init__(
        self,
        store: Store,
        *,
        journal: Journal | None = None,
        flush_interval_s: float = 1.0,
        max_pending: int = 10_000,
        batch_size: int = 500,
        process: WriterProcess | None = None,
        keeps_records: bool = True,
    ) -> None:
        self.keeps_records = keeps_records  # False: no request records (audit events and charges still)
        self._store = store
        self._journal = journal
        self._process = process if journal is not None else None  # it stores journal segments only
        self._flush_interval_s = flush_interval_s
        self._max_pending = max_pending
        self._batch_size = batch_size
        self._queued = Entries()  # handed over since the last seal
        self._sealed: deque[tuple[str | None, Entries]] = deque()  # taken for the database, in order
        self._backlog = 0  # records and audit events not stored yet (what max_pending bounds)
        self._wake = asyncio.Event()
        self._flush_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0
        self.spilled = 0  # journaled past the backlog's bound, not kept in memory (writer process only)
        self._assisting = False  # the writer process is behind: this process stores segments too
        self.written = 0
        self.replayed = 0  # entries stored from segments a crash left behind

    def key_used(self, key_id: str, when: datetime) -> None:
        """A key's last use (not journaled: a crash loses at most a second of last-used times, which the
        next use puts right)."""
        self._queued.key_used(key_id, when)

    def audit(self, event: NewAuditEvent) -> None:
        self._bounded(event, self._queued.events)

    def request(self, record: RequestRecord) -> None:
        self._bounded(record, self._queued.records)

    def body(self, entry: RequestBody) -> None:
        """A request's bodies (a project that opted in)."""
        self._bounded(entry, self._queued.bodies)

    def _bounded(self, entry: object, queue: list[Any]) -> None:
        """Queue and journal ``entry``. Past the backlog's bound: with a writer process, the journal is the
        queue, so the entry is journaled all the same and only its copy in memory (for lookups) is
        skipped (``spilled``); without one, it is dropped and counted."""
        if self._backlog >= self._max_pending:
            if self._process is not None and self._journal is not None:
                self._journal.append(encode(entry))
                self.spilled += 1
                return
            self.dropped += 1
            return
        self._backlog += 1
        queue.append(entry)
        if self._journal is not None:
            self._journal.append(encode(entry))
        if len(queue) >= self._batch_size:
            self._wake.set()

    def credit(self, entry: CreditEntry) -> None:
        """A ledger entry (a charge). Never dropped for a full backlog."""
        self._queued.credits.append(entry)
        if self._journal is not None:
            self._journal.append(encode(entry))
        if len(self._queued.credits) >= self._batch_size:
            self._wake.set()

    def commit(self) -> None:
        """Make what was handed over so far survive a crash of the process (one write to the journal)."""
        if self._journal is not None:
            self._journal.commit()

    def queued_request(self, request_id: str) -> RequestRecord | None:
        """A request record not in the database yet (newest first: the likely one is recent)."""
        batches = [self._queued, *(entries for _, entries in reversed(self._sealed))]
        for entries in batches:
            for record in reversed(entries.records):
                if record.id == request_id:
                    return record
        return None

    async def settled(self) -> None:
        """Wait until no batch is being written (what was taken off the queue is then in the database)."""
        async with self._flush_lock:
            pass

    @property
    def pending(self) -> int:
        return len(self._queued) + sum(len(entries) for _, entries in self._sealed)

    async def flush(self) -> None:
        async with self._flush_lock:
            if self._process is not None:
                self._hand_over()
                self._process.hurry(len(self._sealed) > _BEHIND)
                stuck = len(self._sealed) > _STUCK
                if stuck != self._assisting:
                    self._assisting = stuck
                    log.warning(
                        "writer process %s (%d segments waiting)",
                        "stuck: the serving process stores segments too" if stuck else "caught up",
                        len(self._sealed),
                    )
                if stuck:  # the writer process still gets no CPU (or hangs): help, or the disk fills
                    await self._store_unlocked(replaying=False, counted=False)
                return
            if self._queued:
                name = self._journal.seal() if self._journal is not None else None
                self._sealed.append((name, self._queued))
                self._queued = Entries()
            while self._sealed:
                name, entries = self._sealed[0]
                try:
                    await self._store_batch(name, entries)
                except Exception:
                    if name is not None and self._journal is not None:  # it may wait long: make it durable
                        await asyncio.to_thread(self._journal.sync, name)
                    raise
                self._sealed.popleft()
                self._backlog -= _bounded_rows(entries)
                if name is not None and self._journal is not None:
                    self._journal.discard(name)

    def _hand_over(self) -> None:
        """Seal the open segment and release it to the writer process; forget the sealed batches it has
        stored (their files are gone)."""
        journal, process = self._journal, self._process
        assert journal is not None
        assert process is not None
        for key_id, when in self._queued.used.items():  # journaled for the writer process to store
            journal.append(encode_used(key_id, when))
        name = journal.seal(release=True)  # None: nothing was written to it (spilled entries count)
        if name is not None:
            self._sealed.append((name, self._queued))
            process.notify()
        self._queued = Entries()
        if self._sealed:
            waiting: deque[tuple[str | None, Entries]] = deque()
            for name, entries in self._sealed:
                if name is not None and journal.exists(name):
                    waiting.append((name, entries))
                    continue
                self._backlog -= _bounded_rows(entries)
                self.written += _rows(entries)
            self._sealed = waiting

    async def _store_batch(
        self, name: str | None, entries: Entries, *, replay: bool = False, counted: bool = True
    ) -> int:
        """Store one sealed batch (and its segment's name) in one transaction; the rows stored. A batch the
        database refuses is salvaged row by row; when nothing can go in, the error is raised (retry)."""
        try:
            async with self._store.transaction() as tx:
                if replay and name is not None and await tx.journal.is_stored(name):
                    return 0
                for _, write in self._writes(entries):
                    await write(tx)
                if name is not None:
                    await tx.journal.stored(name, datetime.now(UTC))
        except Exception:
            if name is not None and await self._stored_already(name):
                return 0  # it committed, but the answer was lost (a cancelled or broken connection)
            return await self._salvage(name, entries, counted)
        stored = _rows(entries)
        if counted:  # (a batch the writer process was given is counted when its file is gone)
            self.written += stored
        return stored

    async def _stored_already(self, name: str) -> bool:
        try:
            async with self._store.transaction() as tx:
                return await tx.journal.is_stored(name)
        except Exception:
            return False

    def _writes(self, entries: Entries) -> list[tuple[str, Write]]:
        size = self._batch_size
        writes: list[tuple[str, Write]] = []
        for start in range(0, len(entries.records), size):
            writes.append(
                ("requests", functools.partial(_append_records, entries.records[start : start + size]))
            )
        for start in range(0, len(entries.events), size):
            writes.append(
                ("audit events", functools.partial(_append_events, entries.events[start : start + size]))
            )
        for start in range(0, len(entries.bodies), size):
            writes.append(("bodies", functools.partial(_append_bodies, entries.bodies[start : start + size])))
        for start in range(0, len(entries.credits), size):
            writes.append(
                ("credits", functools.partial(_append_credits, entries.credits[start : start + size]))
            )
        writes.extend(_touches(entries))
        return writes

    async def _salvage(self, name: str | None, entries: Entries, counted: bool = True) -> int:
        """A batch failed: store its rows one by one, each in its own savepoint of one transaction, so that
        one bad row cannot block the rest for ever (the rows the database refuses are dropped, counted and
        logged). Raises when nothing went in, which means the database itself is away."""
        writes: list[tuple[str, Write]] = [
            *((f"request {r.id}", functools.partial(_append_records, [r])) for r in entries.records),
            *((f"audit event {e.action}", functools.partial(_append_events, [e])) for e in entries.events),
            *((f"bodies of {b.request_id}", functools.partial(_append_bodies, [b])) for b in entries.bodies),
            *(
                (f"credit {c.kind} {c.request_id}", functools.partial(_append_credits, [c]))
                for c in entries.credits
            ),
        ]
        writes.extend(_touches(entries))
        refused: list[str] = []
        async with self._store.transaction() as tx:
            for what, write in writes:
                try:
                    async with tx.connection.begin_nested():
                        await write(tx)
                except Exception as exc:
                    refused.append(f"{what} ({type(exc).__name__})")
            if len(refused) == len(writes):
                raise RuntimeError(f"the database refused every row of the batch: {'; '.join(refused[:3])}")
            if name is not None:
                await tx.journal.stored(name, datetime.now(UTC))
        rows = _rows(entries)
        stored = rows - sum(1 for r in refused if not r.startswith("last-used"))
        if counted:
            self.written += stored
        self.dropped += len(refused)
        if refused:
            log.error("batch writer dropped what the database refused: %s", "; ".join(refused))
        return stored

    async def store_leftovers(self, *, replaying: bool = False) -> int:
        """Store what the unlocked segments hold (each once), then remove them; the entries stored. At
        start-up these are what a crashed process left (``replaying``: logged); in the writer process,
        what the serving process released. A segment the database refuses for now is synced to disk (it
        may wait long) and the error raised: it is tried again later."""
        async with self._flush_lock:
            return await self._store_unlocked(replaying=replaying)

    async def _store_unlocked(self, *, replaying: bool, counted: bool = True) -> int:
        if self._journal is None:
            return 0
        stored = 0
        for name, entries in self._journal.leftovers():
            try:
                count = await self._store_batch(name, entries, replay=True, counted=counted)
            except Exception:
                await asyncio.to_thread(self._journal.sync_file, name)
                raise
            if count and replaying:
                log.warning("journal: stored %d entries a previous process left in %s", count, name)
            stored += count
            self._journal.remove(name)
        return stored

    async def forget_stored_names(self) -> None:
        """Prune the names of segments stored long ago (kept only to refuse a second replay)."""
        async with self._store.transaction() as tx:
            await tx.journal.forget_before(datetime.now(UTC) - _KEEP_SEGMENT_NAMES)

    async def replay(self) -> int:
        """Store what segments left behind by a crashed process hold (each once); the entries stored."""
        stored = await self.store_leftovers(replaying=True)
        if self._journal is not None:
            await self.forget_stored_names()
        self.replayed += stored
        return stored

    async def start(self) -> None:
        """Open the journal, replay what a crash left behind (here, before balances load), start the writer
        process if there is one, and start the loop."""
        if self._journal is not None:
            self._journal.open()
            await self.replay()
        if self._process is not None:
            await self._process.start()
        self._task = asyncio.create_task(self._run(), name="byokgate-batch-writer")

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._flush_interval_s)
            self._wake.clear()
            try:
                if self._process is not None:
                    await self._process.ensure_running()
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep the records, retry on the next tick
                log.warning("batch write failed (%s); %d record(s) kept for retry", exc, self.pending)

    async def aclose(self) -> None:
        """Stop the loop and write out whatever is left (what cannot be stays in the journal)."""
        async with self._flush_lock:  # never cancel the loop in the middle of a batch's transaction
            await cancel_and_wait(self._task)
        try:
            await self.flush()
        finally:
            if self._process is not None:
                await self._process.stop()  # it stores what was released, then exits
            if self._journal is not None:
                self._journal.close()


def _bounded_rows(entries: Entries) -> int:
    """The entries of a batch that count against the backlog's bound (charges never do)."""
    return len(entries.records) + len(entries.events) + len(entries.bodies)


def _rows(entries: Entries) -> int:
    """The rows a batch stores (last-used times update rows, and are not counted)."""
    return _bounded_rows(entries) + len(entries.credits)


async def _append_events(events: list[NewAuditEvent], tx: Transaction) -> None:
    await tx.audit.append_many(events)


async def _append_records(records: list[RequestRecord], tx: Transaction) -> None:
    await tx.requests.append_many(records)


async def _append_bodies(bodies: list[RequestBody], tx: Transaction) -> None:
    await tx.bodies.append_many(bodies)


async def _append_credits(entries: list[CreditEntry], tx: Transaction) -> None:
    await tx.credits.record(entries, datetime.now(UTC))


def _touches(entries: Entries) -> list[tuple[str, Write]]:
    """The last-used times a batch moves: API keys' (queued as such) and provider keys' (from the key-use
    events it stores)."""
    writes: list[tuple[str, Write]] = []
    if entries.used:
        writes.append(("last-used times", functools.partial(_touch_api_keys, entries.used)))
    credentials: dict[str, datetime] = {}
    for event in entries.events:
        if event.action == KEY_USE and event.credential_id and event.at is not None:
            previous = credentials.get(event.credential_id)
            if previous is None or event.at > previous:
                credentials[event.credential_id] = event.at
    if credentials:
        writes.append(
            ("last-used times of provider keys", functools.partial(_touch_credentials, credentials))
        )
    return writes


async def _touch_api_keys(used: dict[str, datetime], tx: Transaction) -> None:
    await tx.api_keys.touch_last_used(used)


async def _touch_credentials(used: dict[str, datetime], tx: Transaction) -> None:
    await tx.credentials.touch_last_used(used)
