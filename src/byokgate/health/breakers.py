"""Circuit breakers per provider (``provider:<name>``) and per project key (``key:<credential id>``).

A breaker counts the failures that say its upstream is unwell (5xx, 529, timeouts, resets, unreadable
answers; not a 4xx, which says the request is the problem) and opens after ``failures`` consecutive ones, or
when at least ``min_requests`` came in the last ``window_s`` and ``failure_rate`` of them failed. Open, it
refuses attempts for ``cool_s``; then it is half-open: exactly one attempt (the probe) goes through, and
its success closes the breaker, its failure opens it again. With Redis (``shared.py``) an opening, a probe
and a closing are seen by every instance; the counts are each instance's own.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerSettings:
    failures: int = 5  # consecutive failures that open it
    failure_rate: float = 0.5  # or this share of the window's attempts...
    min_requests: int = 20  # ...when the window holds at least this many
    window_s: float = 60.0
    cool_s: float = 10.0  # open this long, then one probe


@dataclass(slots=True)
class Breaker:
    state: State = State.CLOSED
    opened_until: float = 0.0  # while open: when the probe may go
    last_failure: float = 0.0
    consecutive: int = 0
    probing: bool = False  # half-open: the probe is out
    changed_at: float = 0.0  # when its state last changed (shared state: the newer news wins)
    # (when, failed) of the last attempts in the window (at most 1024: a rate, not a log)
    outcomes: deque[tuple[float, bool]] = field(default_factory=lambda: deque(maxlen=1024))

    def as_json(self) -> dict[str, object]:
        return {
            "state": str(self.state),
            "opened_until": self.opened_until,
            "last_failure": self.last_failure,
            "at": self.changed_at,
        }


# What a shared store is told: the breaker's name and its state (None: closed, forget it).
Publish = Callable[[str, Breaker | None], None]


class Breakers:
    def __init__(
        self, settings: BreakerSettings | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.settings = settings or BreakerSettings()
        self._clock = clock
        self._breakers: dict[str, Breaker] = {}
        self.publish: Publish | None = None
        # Shared through Redis: a probe goes only from the instance that claimed it (``grant_probe``).
        self.shared = False
        self._granted: set[str] = set()
        self._unwell: set[str] = set()  # the names of the breakers that are not closed

    @property
    def any_open(self) -> bool:
        """Whether any breaker is open or half-open (the healthy fast path asks nothing else)."""
        return bool(self._unwell)

    def blocked(self, name: str) -> bool:
        """Would an attempt be refused now? (No side effect: ``acquire`` takes the probe.)"""
        breaker = self._breakers.get(name)
        if breaker is None or breaker.state is State.CLOSED:
            return False
        if breaker.state is State.OPEN:
            return self._clock() < breaker.opened_until
        return breaker.probing

    def acquire(self, name: str) -> bool:
        """Let an attempt through: always when closed; the probe when open and due (half-open after)."""
        breaker = self._breakers.get(name)
        if breaker is None or breaker.state is State.CLOSED:
            return True
        if breaker.state is State.OPEN and self._clock() < breaker.opened_until:
            return False
        if breaker.probing:
            return False
        if self.shared:
            if name not in self._granted:
                return False  # the instances' shared state says who probes (``shared.py``)
            self._granted.discard(name)
        breaker.state, breaker.probing = State.HALF_OPEN, True
        self._changed(name, breaker)
        return True

    def due(self) -> list[str]:
        """Open breakers whose cool-down is over and whose probe nobody has taken yet."""
        now = self._clock()
        return [
            name
            for name, b in self._breakers.items()
            if b.state is State.OPEN and b.opened_until <= now and name not in self._granted
        ]

    def grant_probe(self, name: str) -> None:
        """This instance won the probe of ``name`` (shared state): its next attempt goes through."""
        self._granted.add(name)

    def force_probe(self, name: str) -> None:
        """Every target is open: this one (the least recently failed) is probed now, cool-down or not."""
        breaker = self._breakers.get(name)
        if breaker is not None and breaker.state is not State.CLOSED and not breaker.probing:
            breaker.state, breaker.opened_until = State.OPEN, min(breaker.opened_until, self._clock())
            self._granted.add(name)  # due now, and this instance's to probe (``acquire`` takes it)

    def release(self, name: str) -> None:
        """The probe ended without a verdict (the request never reached the upstream): another may go."""
        breaker = self._breakers.get(name)
        if breaker is not None and breaker.state is State.HALF_OPEN and breaker.probing:
            # Due again: the next attempt (or, shared, the next claim) probes.
            breaker.state, breaker.probing, breaker.opened_until = State.OPEN, False, self._clock()
            self._changed(name, breaker)

    def succeeded(self, name: str) -> None:
        breaker = self._breakers.get(name)
        if breaker is None:
            return
        now = self._clock()
        breaker.consecutive = 0
        self._note(breaker, now, failed=False)
        if breaker.state is not State.CLOSED:
            breaker.state, breaker.probing, breaker.opened_until = State.CLOSED, False, 0.0
            breaker.outcomes.clear()
            breaker.changed_at = now
            self._unwell.discard(name)
            if self.publish is not None:
                self.publish(name, None)

    def failed(self, name: str) -> None:
        breaker = self._breakers.setdefault(name, Breaker())
        now = self._clock()
        breaker.consecutive += 1
        breaker.last_failure = now
        self._note(breaker, now, failed=True)
        settings = self.settings
        if breaker.state is State.HALF_OPEN or (breaker.state is State.CLOSED and self._tripped(breaker)):
            breaker.state, breaker.probing = State.OPEN, False
            breaker.opened_until = now + settings.cool_s
            self._unwell.add(name)
            self._changed(name, breaker)

    def retry_in(self, name: str) -> float:
        """Seconds until an open breaker's probe is due (0 when it is, or when it is not open)."""
        breaker = self._breakers.get(name)
        return max(breaker.opened_until - self._clock(), 0.0) if breaker is not None else 0.0

    def last_failure(self, name: str) -> float:
        breaker = self._breakers.get(name)
        return breaker.last_failure if breaker is not None else 0.0

    def adopt(self, name: str, state: State, opened_until: float, last_failure: float, at: float) -> None:
        """Another instance's news, unless this instance's own is newer (no echo back)."""
        breaker = self._breakers.get(name)
        if breaker is not None and breaker.changed_at >= at:
            return
        if state is State.CLOSED:
            if breaker is not None and breaker.state is not State.CLOSED:
                breaker.state, breaker.probing, breaker.opened_until = State.CLOSED, False, 0.0
                breaker.consecutive = 0
                breaker.outcomes.clear()
                breaker.changed_at = at
                self._unwell.discard(name)
            return
        breaker = self._breakers.setdefault(name, Breaker())
        breaker.state, breaker.opened_until, breaker.changed_at = state, opened_until, at
        breaker.last_failure = max(breaker.last_failure, last_failure)
        breaker.probing = state is State.HALF_OPEN
        self._unwell.add(name)
        self._granted.discard(name)

    def changed_since(self, name: str) -> float:
        breaker = self._breakers.get(name)
        return breaker.changed_at if breaker is not None else 0.0

    def view(self) -> dict[str, Breaker]:
        """The breakers that are not closed (for the admin API)."""
        return {name: self._breakers[name] for name in self._unwell}

    def _tripped(self, breaker: Breaker) -> bool:
        settings = self.settings
        if breaker.consecutive >= settings.failures:
            return True
        outcomes = breaker.outcomes
        if len(outcomes) < settings.min_requests:
            return False
        failed = sum(1 for _, bad in outcomes if bad)
        return failed / len(outcomes) >= settings.failure_rate

    def _note(self, breaker: Breaker, now: float, *, failed: bool) -> None:
        outcomes = breaker.outcomes
        outcomes.append((now, failed))
        horizon = now - self.settings.window_s
        while outcomes and outcomes[0][0] < horizon:
            outcomes.popleft()

    def _changed(self, name: str, breaker: Breaker) -> None:
        breaker.changed_at = self._clock()
        if self.publish is not None:
            self.publish(name, breaker)
