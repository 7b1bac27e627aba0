"""A request's attempts: each target of its plan in order, each retried per the error-class table, within
the request's deadline.

``Chain.run`` calls the executor once per attempt. A failure is judged (``attempts.judge``): retried on
the same target after a backoff (full jitter, or the provider's ``retry-after`` when it is short enough to
wait for), failed over to the next target, or answered at once. A stream is held from the client until its
first content while another attempt may follow, so that a failure before then is one more attempt, not a
broken answer; once it has reached the client it is never retried, but with ``continue_streams`` a
fallback that accepts an assistant prefill may carry it on (``continuation.py``). When every attempt
fails, the most actionable error is answered, listing the attempts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from starlette.types import Receive

from byokgate.domain.routes import RouteConfig
from byokgate.errors import ApiError
from byokgate.health.breakers import Breakers
from byokgate.proxy.attempts import Action, Verdict, backoff, judge
from byokgate.proxy.call import Call
from byokgate.proxy.circuits import Circuits
from byokgate.proxy.errors import CircuitOpenError, DeadlineExceededError
from byokgate.proxy.exchange import Attempt, Exchange, Responded, disconnected
from byokgate.proxy.executor import AttemptBounds, Executor
from byokgate.proxy.relay import end_broken
from byokgate.routing.policy import Route


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """The gateway-wide defaults (``BYOKGATE_RETRIES`` and friends)."""

    retries: int = 2  # per target, after its first attempt
    deadline_s: float = 600.0  # the whole chain, backoffs included
    first_token_s: float | None = None  # a stream's first content, while another target remains
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 8.0
    retry_after_max_s: float = 10.0  # a longer retry-after fails over (or is answered) at once
    timeout_s: float | None = None  # each attempt's wait for a byte (None: the transport's own)
    route_around_refusals: bool = False  # a content-policy refusal fails over too (a route's opt-in)
    continue_streams: bool = False  # a stream broken after reaching the client is carried on by a fallback

    def for_route(self, route: RouteConfig) -> RetryPolicy:
        """These defaults with what a project's route sets instead."""
        return replace(
            self,
            retries=self.retries if route.retries is None else route.retries,
            deadline_s=route.deadline_s or self.deadline_s,
            first_token_s=route.ttft_timeout_s or self.first_token_s,
            timeout_s=route.timeout_s or self.timeout_s,
            route_around_refusals=route.route_around_refusals,
            continue_streams=self.continue_streams or route.continue_streams,
        )


class Chain:
    def __init__(
        self,
        executor: Executor,
        policy: RetryPolicy,
        breakers: Breakers | None = None,
        windows: Callable[[Route], int | None] | None = None,
    ) -> None:
        self._executor = executor
        self.policy = policy  # the gateway's defaults
        self._circuits = Circuits(breakers or Breakers())
        self._windows = windows  # a target's context window, when known (context-length escalation)

    async def run(
        self,
        call: Call,
        targets: Sequence[Route],
        exchange: Exchange,
        send: Responded,
        receive: Receive,
        policy: RetryPolicy | None = None,
    ) -> None:
        """Answer ``call`` from the first of ``targets`` that can, per ``policy`` (the gateway's defaults,
        or a route's)."""
        policy = policy or self.policy
        loop = asyncio.get_running_loop()
        deadline = loop.time() + policy.deadline_s
        failures: list[tuple[Verdict, ApiError]] = []
        circuits = self._circuits
        breakers = circuits.breakers
        if breakers.any_open:
            targets = circuits.unless_all_open(targets)
        last = len(targets) - 1
        tried = 0
        outgrown: int | None = None  # a context window the request did not fit: none no larger is tried
        for index, route in enumerate(targets):
            retries = 0
            if outgrown is not None and self._windows is not None:
                window = self._windows(route)
                if window is not None and window <= outgrown:
                    skipped = Attempt(
                        route, None, 400, "context_length_exceeded", "skip", "context_length", 0.0
                    )
                    exchange.failed_attempt(skipped, 0)
                    continue
            refusing = circuits.admit(route) if breakers.any_open else None
            if refusing is not None:  # open: not sent requests for now
                hint = {"retry-after": str(circuits.retry_in(refusing))}
                failing = route.provider if refusing.startswith("provider:") else route.upstream_model
                refused = CircuitOpenError(f"{failing} is failing: its circuit is open.", headers=hint)
                failures.append((_OPEN, refused))
                skipped = Attempt(route, None, 503, "circuit_open", "skip", "circuit_open", 0.0)
                exchange.failed_attempt(skipped, 0)
                exchange.routing_reason = "fallback_after_circuit_open"
                continue
            while True:
                tried += 1
                exchange.attempt_count = tried
                exchange.route = route
                now = loop.time()
                if now >= deadline:
                    return _give_up(exchange, failures, DeadlineExceededError(_deadline_message(policy)))
                more = retries < policy.retries or index < last  # another attempt may follow this one
                first_token_s = policy.first_token_s if index < last else None
                bounds = AttemptBounds(
                    deadline=deadline,
                    hold_stream=more,
                    first_token_by=now + first_token_s if first_token_s is not None else None,
                    timeout_s=policy.timeout_s,
                    strict_keys=retries == 0 and index < last,
                    continuable=policy.continue_streams and self._carried(call, targets[index + 1 :]),
                )
                exchange.rotatable = False
                started = time.perf_counter()
                try:
                    await self._executor.run(call, route, exchange, send, receive, bounds)
                except ApiError as error:
                    if send.started:
                        raise  # the answer had begun: nothing else may be sent
                    verdict = judge(error)
                    if verdict.reason in _TIMEOUTS and loop.time() >= deadline - _SLACK_S:
                        error = DeadlineExceededError(_deadline_message(policy))  # the deadline cut it
                        verdict = _DEADLINE  # no verdict on the upstream (it may just be slower)
                    circuits.observe(route, exchange.credential_id, verdict.reason)
                    if verdict.reason == "content_policy" and policy.route_around_refusals:
                        verdict = replace(verdict, action=Action.FAILOVER)
                    failures.append((verdict, error))
                    spent = (time.perf_counter() - started) * 1000
                    if exchange.rotatable:  # the key failed and its pool has a fresh one: at once
                        attempt = Attempt(
                            route,
                            exchange.credential_id,
                            error.status,
                            error.code,
                            "rotate",
                            verdict.reason,
                            spent,
                        )
                        exchange.failed_attempt(attempt, spent)
                        exchange.routing_reason = f"rotated_after_{verdict.reason}"
                        continue
                    wait = _retry_wait(policy, verdict, retries, deadline - loop.time())
                    action = Action.RETRY if wait is not None else verdict.action
                    if action is Action.RETRY and wait is None:
                        action = Action.FAILOVER
                    attempt = Attempt(
                        route, exchange.credential_id, error.status, error.code, action, verdict.reason, spent
                    )
                    exchange.failed_attempt(attempt, spent)
                    if verdict.action is Action.TERMINAL:
                        return _give_up(exchange, failures)
                    if wait is None:
                        if verdict.reason == "context_length" and self._windows is not None:
                            outgrown = max(outgrown or 0, self._windows(route) or 0) or outgrown
                        break  # on to the next target
                    retries += 1
                    exchange.routing_reason = f"retried_after_{verdict.reason}"
                    if not await _pause(wait, receive):
                        exchange.status, exchange.error_code = 499, "client_closed_request"
                        return
                    exchange.waited_ms += wait * 1000
                    continue
                if exchange.broken is not None:  # after reaching the client: the fallbacks carry it on
                    circuits.observe(route, exchange.credential_id, "bad_response")
                    spent = (time.perf_counter() - started) * 1000
                    rest = targets[index + 1 :]
                    return await self._carry_on(call, rest, exchange, send, receive, policy, deadline, spent)
                circuits.answered(route, exchange.credential_id)
                if exchange.attempts is not None:
                    spent = (time.perf_counter() - started) * 1000
                    answered = Attempt(
                        route, exchange.credential_id, exchange.status, None, "answered", None, spent
                    )
                    exchange.attempts.append(answered)
                return
            if index < last:
                reason = failures[-1][0].reason
                escalated = reason == "context_length"
                exchange.routing_reason = "context_escalation" if escalated else f"fallback_after_{reason}"
                call.ticket = None  # a fallback's answer is not the one the cache entry is for
        _give_up(exchange, failures)

    def _carried(self, call: Call, rest: Sequence[Route]) -> bool:
        """Could one of ``rest`` carry on ``call``'s stream if it broke after reaching the client?"""
        return call.stream and any(self._executor.carries_on(call, route) for route in rest)

    async def _carry_on(
        self,
        call: Call,
        rest: Sequence[Route],
        exchange: Exchange,
        send: Responded,
        receive: Receive,
        policy: RetryPolicy,
        deadline: float,
        spent: float,
    ) -> None:
        """Carry a broken stream on, on the first of ``rest`` that takes a prefill and continues it; when
        none does, end it with its own error (a continuation's failure is never the one the client sees)."""
        broken = exchange.broken
        assert broken is not None
        assert exchange.route is not None
        loop = asyncio.get_running_loop()
        circuits = self._circuits
        remaining = [route for route in rest if self._executor.carries_on(call, route)]
        while True:  # an attempt broke after reaching the client
            exchange.broken = None
            failed = Attempt(
                exchange.route, exchange.credential_id, 502, _BROKE, "continue", "stream_break", spent
            )
            exchange.failed_attempt(failed, spent)
            again = False
            while remaining and not again and loop.time() < deadline:
                route = remaining.pop(0)
                if circuits.admit(route) is not None:
                    continue
                exchange.attempt_count += 1
                exchange.route = route
                first_token_s = policy.first_token_s
                bounds = AttemptBounds(
                    deadline=deadline,
                    first_token_by=loop.time() + first_token_s if first_token_s is not None else None,
                    timeout_s=policy.timeout_s,
                    continuable=bool(remaining),
                    carries_on=broken.transcript,
                )
                started = time.perf_counter()
                try:
                    await self._executor.run(call, route, exchange, send, receive, bounds)
                except ApiError as error:  # before its first content: the client saw nothing of it
                    verdict = judge(error)
                    circuits.observe(route, exchange.credential_id, verdict.reason)
                    spent = (time.perf_counter() - started) * 1000
                    attempt = Attempt(
                        route,
                        exchange.credential_id,
                        error.status,
                        error.code,
                        "failover",
                        verdict.reason,
                        spent,
                    )
                    exchange.failed_attempt(attempt, spent)
                    continue
                spent = (time.perf_counter() - started) * 1000
                if exchange.broken is not None:  # it broke too, after carrying on: the rest may go on
                    circuits.observe(route, exchange.credential_id, "bad_response")
                    broken, again = exchange.broken, True
                    continue
                circuits.answered(route, exchange.credential_id)
                exchange.routing_reason = "continued_after_stream_break"  # the record's (the head is sent)
                if exchange.attempts is not None:
                    answered = Attempt(
                        route, exchange.credential_id, exchange.status, None, "answered", None, spent
                    )
                    exchange.attempts.append(answered)
                return
            if not again:
                exchange.status, exchange.error_code = 502, _BROKE
                await end_broken(send, call.door.error_event, broken.message)
                return


_OPEN = Verdict(Action.FAILOVER, "circuit_open", 15)
_BROKE = "upstream_stream_error"
_TIMEOUTS = frozenset({"timeout", "ttft_timeout"})
_DEADLINE = Verdict(Action.FAILOVER, "deadline", 21)  # says more than the timeouts it ended (20)
_SLACK_S = 0.001  # a timer may fire this much before its time


def _retry_wait(policy: RetryPolicy, verdict: Verdict, retries: int, remaining_s: float) -> float | None:
    """How long to wait before retrying the same target; None: do not retry it."""
    if verdict.action is not Action.RETRY or retries >= policy.retries:
        return None
    if verdict.retry_after_s is not None:
        if verdict.retry_after_s > policy.retry_after_max_s:
            return None
        wait = verdict.retry_after_s
    else:
        wait = backoff(retries, policy.backoff_base_s, policy.backoff_cap_s)
    return wait if wait < remaining_s else None


def _give_up(
    exchange: Exchange, failures: list[tuple[Verdict, ApiError]], last: ApiError | None = None
) -> None:
    """Raise the most actionable error of all (the first of equals), listing the attempts."""
    ranked = max(failures, key=lambda failure: failure[0].rank)[1] if failures else last
    assert ranked is not None
    if exchange.attempts is not None and len(exchange.attempts) > 1:
        ranked.attempts = [attempt.as_record(exchange.started) for attempt in exchange.attempts]
    raise ranked


def _deadline_message(policy: RetryPolicy) -> str:
    return f"No attempt answered within the request's deadline of {policy.deadline_s:g} s."


async def _pause(seconds: float, receive: Receive) -> bool:
    """Sleep ``seconds``; False when the client left meanwhile."""
    if seconds <= 0:
        return True
    watcher = asyncio.ensure_future(disconnected(receive))
    try:
        done, _ = await asyncio.wait({watcher}, timeout=seconds)
    finally:
        watcher.cancel()
    return not done
