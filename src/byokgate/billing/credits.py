"""Platform credits on the request path: a pooled-lane request holds its worst-case cost before it goes
upstream and is charged what it really cost after; the charge reaches the ledger through the batch writer.

The balance a request is checked against is what the database granted (from the snapshot) minus what was
spent, the spent total kept in the counters (memory, or Redis shared by every instance) and started from
the database's own total. Holds and charges are atomic, so concurrent requests on any number of instances
never spend more than the balance, bar what the in-flight holds allow for. If the counters are
unreachable, requests go through (logged) and the charges still reach the ledger.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from byokgate.domain.entities import CreditAccount, CreditEntry
from byokgate.errors import ApiError
from byokgate.limits.counters import Counters
from byokgate.pricing.cost import usd

log = logging.getLogger(__name__)

_WARN_EVERY_S = 30.0


class InsufficientCreditsError(ApiError):
    status = 402
    type = "insufficient_quota"
    default_code = "insufficient_credits"


@dataclass(slots=True)
class CreditHold:
    project_id: str
    request_id: str
    spent_from: int  # the database's charged total when the request was admitted
    amount: int


class CreditGate:
    def __init__(self, counters: Counters, record: Callable[[CreditEntry], None]) -> None:
        self._counters = counters
        self._record = record
        self.errors = 0
        self._last_warning = 0.0

    async def hold(self, project_id: str, request_id: str, account: CreditAccount, amount: int) -> CreditHold:
        """Hold ``amount`` micro-USD of the project's credits, or refuse the request (402)."""
        held = CreditHold(project_id, request_id, account.charged_micro_usd, amount)
        try:
            ok = await self._counters.hold(
                *self._keys(project_id), account.charged_micro_usd, account.granted_micro_usd, amount
            )
        except Exception as exc:
            self._failed(exc)
            return held
        if not ok:
            raise InsufficientCreditsError(
                "This project is out of platform credits for this request on the pooled lane (it needs up to "
                f"{usd(amount)} USD). Add credits, or add the provider's own key to the project to use it "
                "directly.",
            )
        return held

    async def charge(self, held: CreditHold, cost: int) -> None:
        """Release the hold and charge ``cost`` (micro-USD; 0 when the request failed before an answer)."""
        try:
            await self._counters.spend(*self._keys(held.project_id), held.spent_from, held.amount, cost)
        except Exception as exc:
            self._failed(exc)
        if cost > 0:
            self._record(
                CreditEntry(held.project_id, "charge", -cost, datetime.now(UTC), request_id=held.request_id)
            )

    @staticmethod
    def _keys(project_id: str) -> tuple[str, str]:
        return f"credit:{project_id}:spent", f"credit:{project_id}:held"

    def _failed(self, exc: Exception) -> None:
        self.errors += 1
        now = time.monotonic()
        if now - self._last_warning > _WARN_EVERY_S:
            self._last_warning = now
            log.warning("credit counters unavailable (%s); pooled requests go through", type(exc).__name__)
