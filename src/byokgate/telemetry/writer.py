"""A batching writer: the hot path hands records over without waiting; a background task stores them.

Last-used times are coalesced per key (only the newest matters); audit events go through a bounded queue,
and when it is full the newest event is dropped and counted rather than slowing requests down.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from byokgate.domain.entities import CreditEntry, NewAuditEvent, RequestRecord
from byokgate.store.database import Store, Transaction
from byokgate.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class BatchWriter:
    def __init__(
        self, store: Store, *, flush_interval_s: float = 1.0, max_pending: int = 10_000, batch_size: int = 500
    ) -> None:
        self._store = store
        self._flush_interval_s = flush_interval_s
        self._max_pending = max_pending
        self._batch_size = batch_size
        self._events: deque[NewAuditEvent] = deque()
        self._records: deque[RequestRecord] = deque()
        self._credits: deque[CreditEntry] = deque()
        self._last_used: dict[str, datetime] = {}
        self._wake = asyncio.Event()
        self._flush_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0
        self.written = 0

    def key_used(self, key_id: str, when: datetime) -> None:
        previous = self._last_used.get(key_id)
        if previous is None or when > previous:
            self._last_used[key_id] = when

    def audit(self, event: NewAuditEvent) -> None:
        if len(self._events) >= self._max_pending:
            self.dropped += 1
            return
        self._events.append(event)
        if len(self._events) >= self._batch_size:
            self._wake.set()

    def request(self, record: RequestRecord) -> None:
        if len(self._records) >= self._max_pending:
            self.dropped += 1
            return
        self._records.append(record)
        if len(self._records) >= self._batch_size:
            self._wake.set()

    def credit(self, entry: CreditEntry) -> None:
        """A ledger entry (a charge). Never dropped for a full queue: money is not telemetry."""
        self._credits.append(entry)
        if len(self._credits) >= self._batch_size:
            self._wake.set()

    def queued_request(self, request_id: str) -> RequestRecord | None:
        """A request record not handed to the database yet (newest first: the likely one is recent)."""
        for record in reversed(self._records):
            if record.id == request_id:
                return record
        return None

    async def settled(self) -> None:
        """Wait until no batch is being written (what was taken off the queue is then in the database)."""
        async with self._flush_lock:
            pass

    @property
    def pending(self) -> int:
        return len(self._events) + len(self._last_used) + len(self._records) + len(self._credits)

    async def flush(self) -> None:
        async with self._flush_lock:
            while self._events or self._last_used or self._records or self._credits:
                events = [self._events.popleft() for _ in range(min(self._batch_size, len(self._events)))]
                records = [self._records.popleft() for _ in range(min(self._batch_size, len(self._records)))]
                credits = [self._credits.popleft() for _ in range(min(self._batch_size, len(self._credits)))]
                used, self._last_used = self._last_used, {}
                try:
                    async with self._store.transaction() as tx:
                        await tx.requests.append_many(records)
                        await tx.audit.append_many(events)
                        await tx.api_keys.touch_last_used(used)
                        await tx.credits.record(credits, datetime.now(UTC))
                    self.written += len(events) + len(records) + len(credits)
                except Exception:
                    if await self._salvage(events, records, used, credits):
                        continue
                    # Nothing went in (the database is away): put them back (newest wins for last-used)
                    # and let the next flush retry.
                    self._events.extendleft(reversed(events))
                    self._records.extendleft(reversed(records))
                    self._credits.extendleft(reversed(credits))
                    for key_id, when in used.items():
                        self.key_used(key_id, when)
                    raise

    async def _salvage(
        self,
        events: list[NewAuditEvent],
        records: list[RequestRecord],
        used: dict[str, datetime],
        credits: list[CreditEntry],
    ) -> bool:
        """A batch failed: write its rows one by one so that one bad row cannot block the rest for ever.

        True when something went in (the rows the database refused are dropped, counted and logged); False
        when nothing did, which means the database itself is away and the batch must be retried whole."""
        writes: list[tuple[str, Callable[[Transaction], Awaitable[None]]]] = [
            *((f"audit event {e.action}", functools.partial(_append_event, e)) for e in events),
            *((f"request {r.id}", functools.partial(_append_record, r)) for r in records),
            *((f"credit {c.kind} {c.request_id}", functools.partial(_append_credit, c)) for c in credits),
            ("last-used times", functools.partial(_touch, used)),
        ]
        refused: list[str] = []
        for what, write in writes:
            try:
                async with self._store.transaction() as tx:
                    await write(tx)
            except Exception as exc:
                refused.append(f"{what} ({type(exc).__name__})")
        if len(refused) == len(writes):
            return False
        rows = len(events) + len(records) + len(credits)
        self.written += rows - sum(1 for r in refused if not r.startswith("last-used"))
        self.dropped += len(refused)
        if refused:
            log.error("batch writer dropped what the database refused: %s", "; ".join(refused))
        return True

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="byokgate-batch-writer")

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._flush_interval_s)
            self._wake.clear()
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep the records, retry on the next tick
                log.warning("batch write failed (%s); %d record(s) kept for retry", exc, self.pending)

    async def aclose(self) -> None:
        """Stop the loop and write out whatever is left."""
        await cancel_and_wait(self._task)
        await self.flush()


async def _append_event(event: NewAuditEvent, tx: Transaction) -> None:
    await tx.audit.append_many([event])


async def _append_record(record: RequestRecord, tx: Transaction) -> None:
    await tx.requests.append_many([record])


async def _append_credit(entry: CreditEntry, tx: Transaction) -> None:
    await tx.credits.record([entry], datetime.now(UTC))


async def _touch(used: dict[str, datetime], tx: Transaction) -> None:
    await tx.api_keys.touch_last_used(used)
