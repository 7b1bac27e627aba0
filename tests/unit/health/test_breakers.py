"""Circuit breakers as a state machine, on a clock the test moves."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from byokgate.health.breakers import Breakers, BreakerSettings, State


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def breakers(clock: Clock, **settings: float) -> Breakers:
    return Breakers(BreakerSettings(**settings), clock=clock)  # type: ignore[arg-type]


def test_it_opens_after_consecutive_failures_and_a_success_resets_the_count() -> None:
    clock = Clock()
    made = breakers(clock)
    for _ in range(4):
        made.failed("provider:a")
    made.succeeded("provider:a")
    for _ in range(4):
        made.failed("provider:a")
    assert not made.blocked("provider:a")  # 4 in a row, not 5
    made.failed("provider:a")
    assert made.blocked("provider:a")
    assert not made.acquire("provider:a")
    assert made.view()["provider:a"].state is State.OPEN


def test_it_opens_on_a_failure_rate_over_a_minimum_count() -> None:
    clock = Clock()
    made = breakers(clock, failures=100, min_requests=10, failure_rate=0.5, window_s=60)
    for index in range(9):
        (made.failed if index % 2 else made.succeeded)("provider:a")
    assert not made.blocked("provider:a")  # 4 of 9, fewer than 10 anyway
    for _ in range(3):
        made.failed("provider:a")
    assert made.blocked("provider:a")  # 7 of 12 failed


def test_old_outcomes_leave_the_window() -> None:
    clock = Clock()
    made = breakers(clock, failures=100, min_requests=4, failure_rate=0.5, window_s=10)
    for _ in range(3):
        made.failed("provider:a")
    clock.now += 11
    made.succeeded("provider:a")
    made.succeeded("provider:a")
    made.succeeded("provider:a")
    made.failed("provider:a")
    assert not made.blocked("provider:a")  # 1 of 4 in the window


def test_half_open_lets_exactly_one_probe_through() -> None:
    clock = Clock()
    made = breakers(clock, failures=1, cool_s=10)
    made.failed("provider:a")
    assert not made.acquire("provider:a")
    clock.now += 10
    assert not made.blocked("provider:a")
    assert made.acquire("provider:a")  # the probe
    assert made.view()["provider:a"].state is State.HALF_OPEN
    assert made.blocked("provider:a")
    assert not made.acquire("provider:a")  # no second probe while it is out
    made.succeeded("provider:a")
    assert made.view() == {}
    assert made.acquire("provider:a")


def test_a_failed_probe_opens_it_again_and_a_released_one_frees_the_slot() -> None:
    clock = Clock()
    made = breakers(clock, failures=1, cool_s=10)
    made.failed("provider:a")
    clock.now += 10
    assert made.acquire("provider:a")
    made.failed("provider:a")
    assert made.view()["provider:a"].state is State.OPEN
    assert made.blocked("provider:a")
    clock.now += 10
    assert made.acquire("provider:a")
    made.release("provider:a")  # the probe never reached the upstream: due again
    assert made.view()["provider:a"].state is State.OPEN
    assert made.acquire("provider:a")


def test_shared_breakers_probe_only_when_granted_and_adopt_newer_news() -> None:
    clock = Clock()
    made = breakers(clock, failures=1, cool_s=10)
    made.shared = True
    made.failed("provider:a")
    clock.now += 10
    assert made.due() == ["provider:a"]
    assert not made.acquire("provider:a")  # due, but another instance may have claimed the probe
    made.grant_probe("provider:a")
    assert made.acquire("provider:a")
    made.adopt("provider:a", State.CLOSED, 0.0, 0.0, at=clock.now - 5)  # older than our own change
    assert made.view()["provider:a"].state is State.HALF_OPEN
    made.adopt("provider:a", State.CLOSED, 0.0, 0.0, at=clock.now + 1)  # another instance closed it
    assert made.view() == {}
    made.adopt("provider:b", State.OPEN, clock.now + 5, clock.now, at=clock.now + 2)
    assert made.blocked("provider:b")


OPERATIONS = (
    "failed",
    "succeeded",
    "acquire",
    "release",
    "force_probe",
    "adopt_open",
    "adopt_closed",
    "tick",
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(OPERATIONS), st.sampled_from(("a", "b", "c"))), max_size=60))
def test_any_open_and_view_agree_with_the_breakers_states(steps: list[tuple[str, str]]) -> None:
    """`any_open` (asked on every request) is kept as a set, not computed: it must never drift."""
    clock = Clock()
    made = breakers(clock, failures=2, cool_s=5)
    for operation, name in steps:
        if operation == "tick":
            clock.now += 3
        elif operation == "adopt_open":
            made.adopt(name, State.OPEN, clock.now + 5, clock.now, at=clock.now + 0.5)
        elif operation == "adopt_closed":
            made.adopt(name, State.CLOSED, 0.0, 0.0, at=clock.now + 0.5)
        else:
            getattr(made, operation)(name)
        states = {n: b.state for n, b in made._breakers.items()}
        unwell = {n for n, state in states.items() if state is not State.CLOSED}
        assert made.any_open == bool(unwell)
        assert set(made.view()) == unwell
