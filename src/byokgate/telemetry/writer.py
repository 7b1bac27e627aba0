"""A batching writer: the hot path hands records over without waiting; a background task stores them.

Last-used times are coalesced per key (only the newest matters); audit events go through a bounded queue,
and when it is full the newest event is dropped and counted rather than slowing requests down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from datetime import datetime

from byokgate.domain.entities import NewAuditEvent, RequestRecord
from byokgate.store.database import Store
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
        return len(self._events) + len(self._last_used) + len(self._records)

    async def flush(self) -> None:
        async with self._flush_lock:
            while self._events or self._last_used or self._records:
                events = [self._events.popleft() for _ in range(min(self._batch_size, len(self._events)))]
                records = [self._records.popleft() for _ in range(min(self._batch_size, len(self._records)))]
                used, self._last_used = self._last_used, {}
                try:
                    async with self._store.transaction() as tx:
                        await tx.requests.append_many(records)
                        await tx.audit.append_many(events)
                        await tx.api_keys.touch_last_used(used)
                except Exception:
                    # Put them back (newest wins for last-used) and let the next flush retry.
                    self._events.extendleft(reversed(events))
                    self._records.extendleft(reversed(records))
                    for key_id, when in used.items():
                        self.key_used(key_id, when)
                    raise
                self.written += len(events) + len(records)

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
