"""Limits on the request path: requests per minute on arrival, tokens per minute and spend reserved before
the upstream call (the request's worst case), settled to what it really used once it is done.

Windows are fixed: the current UTC minute for rates, the UTC day or month for budgets. A refusal is a 429
in OpenAI's shape with ``retry-after`` (seconds to the window's end) and the ``x-ratelimit-*`` headers
OpenAI sends. The counters are in memory, or in Redis shared by every instance; if Redis is unreachable
the gateway lets requests through (a log line, counted) rather than failing them.
"""

from __future__ import annotations

import calendar
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from byokgate.domain.entities import Limits, NewAuditEvent
from byokgate.errors import ApiError
from byokgate.limits.counters import Counters, Take
from byokgate.logs import OutageLog
from byokgate.pricing.cost import usd

log = logging.getLogger(__name__)

_MINUTE = 60


def period_window(period: str, now: float) -> tuple[str, float]:
    """The UTC ``day`` or ``month`` that ``now`` falls in: its name and the seconds left in it."""
    moment = datetime.fromtimestamp(now, UTC)
    if period == "day":
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        return start.strftime("%Y-%m-%d"), start.timestamp() + 86400 - now
    days = calendar.monthrange(moment.year, moment.month)[1]
    start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start.strftime("%Y-%m"), start.timestamp() + days * 86400 - now


class RateLimitedError(ApiError):
    status = 429
    type = "rate_limit_error"  # OpenAI's type for 429s: the SDKs raise RateLimitError
    default_code = "rate_limit_exceeded"


@dataclass(slots=True)
class Reservation:
    """What a request holds until it settles: (counter, amount, ttl) for tokens and for spend."""

    tokens: list[tuple[str, int, float]] = field(default_factory=list)
    spend: list[tuple[str, int, float, Limits, str]] = field(default_factory=list)  # + limits, scope label
    project_id: str = ""
    request_id: str = ""

    @property
    def empty(self) -> bool:
        return not self.tokens and not self.spend


def _duration(seconds: float) -> str:
    """OpenAI's reset format: ``1s``, ``6m0s``, ``1h2m3s``."""
    whole = max(math.ceil(seconds), 1)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


class LimitGate:
    def __init__(
        self,
        counters: Counters,
        audit: Callable[[NewAuditEvent], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._counters = counters
        self._audit = audit
        self._clock = clock
        self._outage = OutageLog(log, "limit counters unavailable ({error}); letting requests through")

    @property
    def errors(self) -> int:
        """Failures seen (requests were served around them)."""
        return self._outage.errors

    # --- windows -------------------------------------------------------------------------------------

    def _minute(self, now: float) -> tuple[str, float]:
        start = int(now // _MINUTE)
        return str(start), (start + 1) * _MINUTE - now

    def _period(self, limits: Limits, now: float) -> tuple[str, float]:
        return period_window(limits.budget_period, now)

    # --- the request path ----------------------------------------------------------------------------

    async def admit(self, project_id: str, scopes: list[tuple[str, Limits]]) -> None:
        """Count the request against every requests-per-minute limit it is under, or refuse it (429)."""
        window, left = self._minute(self._clock())
        takes, named = [], []
        for scope, limits in scopes:
            if limits.rpm is not None:
                takes.append(Take(f"{project_id}:{scope}:rpm:{window}", limits.rpm, 1, left + 1))
                named.append(scope)
        if not takes:
            return
        refused = await self._take(takes)
        if refused is not None:
            raise self._refusal(
                "requests", takes[refused].limit, left, named[refused] if len(scopes) > 1 else ""
            )

    async def reserve(
        self,
        project_id: str,
        request_id: str,
        scopes: list[tuple[str, Limits]],
        tokens: int,
        cost_micro: int | None,
    ) -> Reservation:
        """Hold ``tokens`` against every tokens-per-minute limit and ``cost_micro`` (the worst case) against
        every budget, or refuse the request (429) and hold nothing."""
        now = self._clock()
        window, left = self._minute(now)
        held = Reservation(project_id=project_id, request_id=request_id)
        takes: list[Take] = []
        what: list[tuple[str, float, str]] = []  # (kind, seconds left, scope) of each take
        for scope, limits in scopes:
            if limits.tpm is not None:
                takes.append(Take(f"{project_id}:{scope}:tpm:{window}", limits.tpm, tokens, left + 1))
                held.tokens.append((takes[-1].key, tokens, left + 1))
                what.append(("tokens", left, scope))
            if limits.budget_micro_usd is not None:
                period, period_left = self._period(limits, now)
                amount = cost_micro or 0  # an unknown price cannot be held against a budget
                key = f"{project_id}:{scope}:spend:{period}"
                takes.append(Take(key, limits.budget_micro_usd, amount, period_left + 1))
                held.spend.append((takes[-1].key, amount, period_left + 1, limits, f"{scope}:{period}"))
                what.append(("budget", period_left, scope))
        if not takes:
            return held
        refused = await self._take(takes)
        if refused is None:
            return held
        kind, seconds, scope = what[refused]
        if kind == "budget":
            raise RateLimitedError(
                f"This {'project' if scope == 'project' else 'key'}'s spend budget for the period is used up "
                f"(limit {usd(takes[refused].limit)} USD); it resets in {_duration(seconds)}.",
                code="budget_exceeded",
                headers={"retry-after": str(max(math.ceil(seconds), 1))},
            )
        raise self._refusal("tokens", takes[refused].limit, seconds, scope if len(scopes) > 1 else "")

    async def settle(self, held: Reservation, tokens: int | None, cost_micro: int | None) -> None:
        """Replace what was held by what was used (None: unknown, the reservation stands)."""
        try:
            for key, amount, ttl in held.tokens:
                if tokens is not None and tokens != amount:
                    await self._counters.add(key, tokens - amount, ttl)
            for key, amount, ttl, limits, label in held.spend:
                spent = amount if cost_micro is None else cost_micro
                total = await self._counters.add(key, spent - amount, ttl) if spent != amount else None
                await self._maybe_alert(held, key, total, ttl, limits, label)
        except Exception as exc:
            self._outage.failed(exc)

    async def _maybe_alert(
        self, held: Reservation, key: str, total: int | None, ttl: float, limits: Limits, label: str
    ) -> None:
        if limits.soft_pct is None or limits.budget_micro_usd is None:
            return
        if total is None:
            total = await self._counters.add(key, 0, ttl)
        if total * 100 < limits.budget_micro_usd * limits.soft_pct:
            return
        if await self._counters.first(f"{key}:soft", ttl):
            scope, _, period = label.partition(":")
            self._audit(
                NewAuditEvent(
                    actor="gateway",
                    action="budget.soft_limit",
                    project_id=held.project_id,
                    request_id=held.request_id,
                    detail={
                        "scope": scope,
                        "period": period,
                        "spent_usd": usd(total),
                        "budget_usd": usd(limits.budget_micro_usd),
                        "soft_pct": limits.soft_pct,
                    },
                    at=datetime.now(UTC),
                )
            )
            log.warning("project %s passed %d%% of its %s budget", held.project_id, limits.soft_pct, scope)

    # --- helpers -------------------------------------------------------------------------------------

    async def _take(self, takes: list[Take]) -> int | None:
        try:
            return await self._counters.take(takes)
        except Exception as exc:
            self._outage.failed(exc)
            return None  # fail open: a counter outage must not take the gateway down

    def _refusal(self, what: str, limit: int, seconds: float, scope: str) -> RateLimitedError:
        reset = _duration(seconds)
        whose = "" if not scope else (" of this project" if scope == "project" else " of this key")
        return RateLimitedError(
            f"Rate limit reached for {what} per minute{whose}: limit {limit}. Please try again in {reset}.",
            code="rate_limit_exceeded",
            headers={
                "retry-after": str(max(math.ceil(seconds), 1)),
                f"x-ratelimit-limit-{what}": str(limit),
                f"x-ratelimit-remaining-{what}": "0",
                f"x-ratelimit-reset-{what}": reset,
            },
        )


DEFAULT_MAX_OUTPUT = 4096  # what a request that names no output cap is assumed to use at most


def estimated_usage(body_size: int, payload: dict[str, object], kind: str) -> dict[str, int]:
    """A request's worst case before it is sent: its body as prompt (~4 bytes a token, generous for JSON)
    and its output cap (``max_completion_tokens``/``max_tokens``) as completion."""
    prompt = body_size // 4 + 1
    if kind == "embeddings":
        return {"prompt_tokens": prompt, "completion_tokens": 0, "total_tokens": prompt}
    cap = payload.get("max_completion_tokens") or payload.get("max_tokens")
    completion = cap if isinstance(cap, int) and not isinstance(cap, bool) and cap > 0 else DEFAULT_MAX_OUTPUT
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
