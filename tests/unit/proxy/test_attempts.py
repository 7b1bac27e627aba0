"""The error-class -> action table (docs/routing.md), row by row, as ``judge`` reads errors."""

from __future__ import annotations

import random

import pytest

from byokgate.billing.credits import InsufficientCreditsError
from byokgate.errors import ApiError, AuthenticationError, InvalidRequestError, NotFoundError, should_retry
from byokgate.limits.gate import RateLimitedError
from byokgate.proxy.attempts import Action, backoff, judge, retry_after
from byokgate.proxy.errors import (
    BadGatewayError,
    DeadlineExceededError,
    FirstTokenTimeoutError,
    GatewayTimeoutError,
    UpstreamApiError,
)


def upstream(status: int, code: str | None = None, **headers: str) -> UpstreamApiError:
    return UpstreamApiError(status, "upstream said no", kind="api_error", code=code, headers=headers)


ROWS: list[tuple[str, ApiError, Action, str]] = [
    ("5xx", upstream(500), Action.RETRY, "5xx"),
    ("503", upstream(503), Action.RETRY, "5xx"),
    ("529", upstream(529), Action.RETRY, "overloaded"),
    ("overloaded (Anthropic's, as 503)", upstream(503, "overloaded"), Action.RETRY, "overloaded"),
    ("408", upstream(408), Action.RETRY, "5xx"),
    ("reset before any byte", BadGatewayError("reset"), Action.RETRY, "reset"),
    ("unreadable answer", BadGatewayError("x", code="upstream_bad_response"), Action.RETRY, "bad_response"),
    ("429", upstream(429, "rate_limit_exceeded"), Action.RETRY, "429"),
    ("quota exhausted", upstream(429, "insufficient_quota"), Action.FAILOVER, "quota"),
    ("provider billing", upstream(402, "insufficient_quota"), Action.FAILOVER, "quota"),
    ("timeout: a silent route", GatewayTimeoutError("slow"), Action.FAILOVER, "timeout"),
    ("deadline", DeadlineExceededError("late"), Action.FAILOVER, "timeout"),
    ("first token too late", FirstTokenTimeoutError("slow"), Action.FAILOVER, "ttft_timeout"),
    ("context length", upstream(400, "context_length_exceeded"), Action.FAILOVER, "context_length"),
    ("own key refused", AuthenticationError("bad key"), Action.FAILOVER, "auth"),
    ("platform key refused", upstream(401, "invalid_api_key"), Action.FAILOVER, "auth"),
    ("model unknown upstream", upstream(404, "model_not_found"), Action.FAILOVER, "not_found"),
    ("pooled credits short", InsufficientCreditsError("top up"), Action.FAILOVER, "credits"),
    ("not expressible here", InvalidRequestError("n>1", param="n"), Action.FAILOVER, "unsupported"),
    ("key deleted meanwhile", NotFoundError("gone"), Action.FAILOVER, "unavailable"),
    ("content policy", upstream(400, "content_policy_violation"), Action.TERMINAL, "content_policy"),
    ("other 4xx", upstream(400, "invalid_value"), Action.TERMINAL, "bad_request"),
    ("422", upstream(422), Action.TERMINAL, "bad_request"),
    ("the gateway's own limit", RateLimitedError("slow down"), Action.TERMINAL, "rate_limited"),
]


@pytest.mark.parametrize(
    ("error", "action", "reason"), [row[1:] for row in ROWS], ids=[row[0] for row in ROWS]
)
def test_each_row(error: ApiError, action: Action, reason: str) -> None:
    verdict = judge(error)
    assert (verdict.action, verdict.reason) == (action, reason)


def test_the_most_actionable_error_outranks_the_rest() -> None:
    own_key = judge(AuthenticationError("bad key")).rank
    others = [judge(error).rank for _, error, _, _ in ROWS if not isinstance(error, AuthenticationError)]
    assert all(own_key > rank for rank in others)
    assert judge(upstream(400, "context_length_exceeded")).rank > judge(upstream(429)).rank
    assert judge(upstream(429)).rank > judge(upstream(503)).rank


def test_retry_after_is_read_in_seconds_milliseconds_or_a_date() -> None:
    assert judge(upstream(429, **{"retry-after": "7"})).retry_after_s == 7.0
    assert retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # in the past
    assert retry_after({"retry-after": "soon"}) is None
    assert retry_after({}) is None


def test_backoff_is_full_jitter_under_an_exponential_ceiling() -> None:
    rng = random.Random(7)
    for retry, ceiling in ((0, 0.5), (1, 1.0), (2, 2.0), (6, 8.0)):
        waits = [backoff(retry, 0.5, 8.0, rng) for _ in range(200)]
        assert all(0.0 <= wait <= ceiling for wait in waits)
        assert max(waits) > ceiling * 0.8  # spread over the whole range, not a fixed step
        assert min(waits) < ceiling * 0.2


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (upstream(503), True),
        (upstream(429), True),
        (upstream(400), False),
        (AuthenticationError("bad key"), False),
        (RateLimitedError("budget", code="budget_exceeded"), False),
        (RateLimitedError("per minute"), True),
        (InsufficientCreditsError("top up"), False),
        (upstream(503, **{"x-should-retry": "false"}), False),  # the provider's own advice wins
    ],
)
def test_x_should_retry_follows_the_table(error: ApiError, expected: bool) -> None:
    assert should_retry(error) is expected
