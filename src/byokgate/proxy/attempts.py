"""What to do after a failed attempt: the published error-class -> action table (docs/routing.md), as data.

``judge`` reads the error an attempt ended with and says whether to try the same target again (``RETRY``),
go on to the next target (``FAILOVER``), or stop and answer with it (``TERMINAL``); its ``reason`` is the
word the routing-reason header uses (``fallback_after_<reason>``), its ``rank`` how useful the error is to
the client when every attempt has failed (the highest wins: your own key's 401 outranks a later 429).
``backoff`` is the wait before a retry: exponential with full jitter, or the provider's ``retry-after``.
Pure functions: no I/O, no clock.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum

from byokgate.billing.credits import InsufficientCreditsError
from byokgate.errors import ApiError, AuthenticationError, InvalidRequestError, NotFoundError
from byokgate.limits.gate import RateLimitedError
from byokgate.providers.base import CONTEXT_LENGTH_EXCEEDED, POLICY_CODES
from byokgate.proxy.errors import (
    BadGatewayError,
    CircuitOpenError,
    FirstTokenTimeoutError,
    GatewayTimeoutError,
    KeysCoolingError,
    UpstreamApiError,
)


class Action(StrEnum):
    RETRY = "retry"  # the same target again, after a backoff
    FAILOVER = "failover"  # the next target of the plan
    TERMINAL = "terminal"  # answer with this error: no other attempt would do better


@dataclass(frozen=True, slots=True)
class Verdict:
    action: Action
    reason: str  # the routing-reason word: 429, 5xx, overloaded, timeout, ttft_timeout, reset, ...
    rank: int  # how actionable the error is for the client (the final error is the highest)
    retry_after_s: float | None = None  # the provider's own hint


# Quota exhausted (not a momentary rate limit): retrying the same key cannot help.
_QUOTA_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached", "quota_exceeded"})


def judge(error: ApiError) -> Verdict:
    """The table's row for ``error``."""
    if isinstance(error, UpstreamApiError):
        return _upstream(error)
    if isinstance(error, AuthenticationError):  # the project's own key was refused: only it can fix that
        return Verdict(Action.FAILOVER, "auth", 100)
    if isinstance(error, FirstTokenTimeoutError):
        return Verdict(Action.FAILOVER, "ttft_timeout", 20)
    if isinstance(error, GatewayTimeoutError):  # a silent route is not retried
        return Verdict(Action.FAILOVER, "timeout", 20)
    if isinstance(error, BadGatewayError):  # reset, refused, unreadable, a stream broken before content
        return Verdict(Action.RETRY, "reset" if error.code == "upstream_unreachable" else "bad_response", 25)
    if isinstance(error, CircuitOpenError):
        return Verdict(Action.FAILOVER, "circuit_open", 15)
    if isinstance(error, KeysCoolingError):  # every key of the project's pool is cooling: another target
        return Verdict(Action.FAILOVER, "cooling", 45, retry_after(error.headers))
    if isinstance(error, RateLimitedError):  # the gateway's own limits hold for every target alike
        return Verdict(Action.TERMINAL, "rate_limited", 95)
    if isinstance(error, InsufficientCreditsError):  # pooled target the credits do not cover: skip it
        return Verdict(Action.FAILOVER, "credits", 80)
    if isinstance(error, InvalidRequestError):  # the request cannot be expressed for this target
        return Verdict(Action.FAILOVER, "unsupported", 60)
    if isinstance(error, NotFoundError):  # the key went away, or the lane is not configured
        return Verdict(Action.FAILOVER, "unavailable", 40)
    return Verdict(Action.TERMINAL, "error", 50)


def _upstream(error: UpstreamApiError) -> Verdict:
    status, code = error.status, error.code or ""
    if code == CONTEXT_LENGTH_EXCEEDED:
        return Verdict(Action.FAILOVER, "context_length", 70)
    if status == 429:
        hint = retry_after(error.headers)
        if code in _QUOTA_CODES:
            return Verdict(Action.FAILOVER, "quota", 55, hint)
        return Verdict(Action.RETRY, "429", 50, hint)
    if code in POLICY_CODES:  # the request is the problem, not the provider: never routed around
        return Verdict(Action.TERMINAL, "content_policy", 90)
    if status == 402:  # the provider account behind the key is out of funds
        return Verdict(Action.FAILOVER, "quota", 55)
    if status in (401, 403):  # the platform's key on the pooled lane (the client cannot fix it)
        return Verdict(Action.FAILOVER, "auth", 35)
    if status == 404:  # the provider does not know the model (any more): another target may
        return Verdict(Action.FAILOVER, "not_found", 40)
    if status == 408 or status >= 500:
        reason = "overloaded" if status == 529 or code in ("overloaded", "overloaded_error") else "5xx"
        return Verdict(Action.RETRY, reason, 30, retry_after(error.headers))
    return Verdict(Action.TERMINAL, "bad_request", 90)


def retry_after(headers: dict[str, str]) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds, or an HTTP date); None without one."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return max(float(milliseconds) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((moment - datetime.now(UTC)).total_seconds(), 0.0)


def backoff(retry: int, base_s: float, cap_s: float, rng: random.Random | None = None) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**retry)] for the ``retry``-th retry (0-based)."""
    ceiling = min(cap_s, base_s * (2**retry))
    return (rng or random).uniform(0.0, ceiling)
