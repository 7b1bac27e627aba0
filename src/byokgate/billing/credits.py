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

from byokgate.billing.plans import Plan
from byokgate.domain.entities import CreditAccount, CreditEntry
from byokgate.errors import ApiError
from byokgate.limits.counters import Counters, Take
from byokgate.limits.gate import period_window
from byokgate.logs import OutageLog
from byokgate.pricing.cost import usd

log = logging.getLogger(__name__)


class InsufficientCreditsError(ApiError):
    status = 402
    type = "insufficient_quota"
    default_code = "insufficient_credits"


@dataclass(slots=True)
class CreditHold:
    project_id: str
    request_id: str
    spent_from: int  # the database's charged total when the request was admitted
    amount: int  # micro-USD held (0 when the plan's included tokens cover the request)
    included_key: str | None = None  # the plan's allowance counter, when it covers the request
    included: int = 0  # tokens held from that allowance
    included_ttl_s: float = 0.0

    @property
    def covered(self) -> bool:
        """Paid by the plan's included tokens, not by credits."""
        return self.included_key is not None


class CreditGate:
    def __init__(
        self,
        counters: Counters,
        record: Callable[[CreditEntry], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._counters = counters
        self._record = record
        self._clock = clock
        self._outage = OutageLog(log, "credit counters unavailable ({error}); pooled requests go through")

    @property
    def errors(self) -> int:
        """Failures seen (requests were served around them)."""
        return self._outage.errors

    async def hold(
        self,
        project_id: str,
        request_id: str,
        account: CreditAccount,
        amount: int,
        *,
        tokens: int = 0,
        plan: Plan | None = None,
    ) -> CreditHold:
        """Cover the request with the plan's included tokens for the period if they still hold its worst
        case (``tokens``), else hold ``amount`` micro-USD of the project's credits, or refuse it (402)."""
        if plan is not None and plan.included_tokens and tokens:
            period, left_s = period_window(plan.period, self._clock())
            key = f"credit:{project_id}:included:{period}"
            try:
                refused = await self._counters.take([Take(key, plan.included_tokens, tokens, left_s + 1)])
            except Exception as exc:
                self._outage.failed(exc)
                refused = 0
            if refused is None:
                return CreditHold(
                    project_id, request_id, account.charged_micro_usd, 0, key, tokens, left_s + 1
                )
        held = CreditHold(project_id, request_id, account.charged_micro_usd, amount)
        try:
            ok = await self._counters.hold(
                *self._keys(project_id), account.charged_micro_usd, account.granted_micro_usd, amount
            )
        except Exception as exc:
            self._outage.failed(exc)
            return held
        if not ok:
            raise InsufficientCreditsError(
                "This project is out of platform credits for this request on the pooled lane (it needs up to "
                f"{usd(amount)} USD). Add credits, or add the provider's own key to the project to use it "
                "directly.",
            )
        return held

    async def charge(self, held: CreditHold, cost: int, tokens: int | None = None) -> None:
        """Release the hold and charge ``cost`` (micro-USD; 0 when the request failed before an answer);
        a request the included tokens covered uses ``tokens`` of them instead (None: all it held)."""
        if held.included_key is not None:
            used = held.included if tokens is None else tokens
            try:
                if used != held.included:
                    await self._counters.add(held.included_key, used - held.included, held.included_ttl_s)
            except Exception as exc:
                self._outage.failed(exc)
            return
        try:
            await self._counters.spend(*self._keys(held.project_id), held.spent_from, held.amount, cost)
        except Exception as exc:
            self._outage.failed(exc)
        if cost > 0:
            self._record(
                CreditEntry(held.project_id, "charge", -cost, datetime.now(UTC), request_id=held.request_id)
            )

    @staticmethod
    def _keys(project_id: str) -> tuple[str, str]:
        return f"credit:{project_id}:spent", f"credit:{project_id}:held"
