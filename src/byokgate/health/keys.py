"""Key pools on the hot path: which of a project's keys for a provider the next attempt takes, and which
are cooling down.

A key that got a 429 cools for the model it was asked for (providers limit each model apart) until its
``retry-after`` (or ``DEFAULT_COOLDOWN_S``); one the provider refused (401/403) cools for every model until
it is replaced (a new credential id) or an operator clears it. ``pick`` chooses
among the pool's fresh keys by smooth weighted round robin (the share of each is its weight; weight 0 only
when nothing else is left), or by fewest attempts in flight per unit of weight
(``BYOKGATE_KEY_SELECTION=least_in_flight``). When no fresh key is left, a strict pick gives up (the chain
fails over to another target) and a lenient one takes the key whose 429 cooldown ends first.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

DEFAULT_COOLDOWN_S = 5.0  # a 429 that gave no retry-after
Selection = Literal["round_robin", "least_in_flight"]


class PoolKey(Protocol):
    @property
    def credential_id(self) -> str: ...

    @property
    def weight(self) -> int: ...


K = TypeVar("K", bound=PoolKey)


@dataclass(frozen=True, slots=True)
class Cooldown:
    reason: str  # "429", "401", "403"
    until: float | None  # epoch seconds; None: until the key is replaced or cleared
    since: float
    model: str | None = None  # a 429's model (the key is fresh for the others); None: every model

    def as_json(self) -> dict[str, object]:
        return {"reason": self.reason, "until": self.until, "since": self.since, "model": self.model}


def entry(credential_id: str, model: str | None = None) -> str:
    """A cooldown's name: the key's id, and a 429's model after a space (model names have none)."""
    return credential_id if model is None else f"{credential_id} {model}"


class KeyHealth:
    def __init__(self, selection: Selection = "round_robin", clock: Callable[[], float] = time.time) -> None:
        self._selection = selection
        self._clock = clock
        self._cooling: dict[str, Cooldown] = {}
        self._current: dict[str, float] = {}  # smooth weighted round robin: each key's running score
        self._in_flight: Counter[str] = Counter()
        self.on_change: Callable[[str, Cooldown | None], None] | None = None  # (shared state hook)

    # --- cooldowns ------------------------------------------------------------------------------------

    def cool(
        self, credential_id: str, reason: str, seconds: float | None, model: str | None = None
    ) -> Cooldown:
        """Cool a key: for ``model`` only (a 429), or for every model (``model`` None)."""
        now = self._clock()
        cooldown = Cooldown(reason, None if seconds is None else now + max(seconds, 0.0), now, model)
        name = entry(credential_id, model)
        self._cooling[name] = cooldown
        if self.on_change is not None:
            self.on_change(name, cooldown)
        return cooldown

    def adopt(self, name: str, cooldown: Cooldown | None) -> None:
        """Another instance's news about a key (``entry``; no echo back)."""
        if cooldown is None:
            self._cooling.pop(name, None)
        else:
            self._cooling[name] = cooldown

    def clear(self, credential_id: str) -> None:
        """Lift every cooldown of a key (an operator set it active again)."""
        for name in [n for n in self._cooling if n.split(" ", 1)[0] == credential_id]:
            del self._cooling[name]
            if self.on_change is not None:
                self.on_change(name, None)

    def cooling(self, credential_id: str, model: str | None = None) -> Cooldown | None:
        """The key's cooldown for every model, else (given ``model``) its cooldown for that model."""
        cooldown = self._current_cooldown(credential_id)
        if cooldown is None and model is not None:
            cooldown = self._current_cooldown(entry(credential_id, model))
        return cooldown

    def cooldowns(self, credential_id: str) -> list[Cooldown]:
        """All of a key's cooldowns now, the one for every model first (for the admin API)."""
        names = [n for n in list(self._cooling) if n.split(" ", 1)[0] == credential_id]
        found = [c for n in sorted(names, key=len) if (c := self._current_cooldown(n)) is not None]
        return found

    def _current_cooldown(self, name: str) -> Cooldown | None:
        cooldown = self._cooling.get(name)
        if cooldown is None:
            return None
        if cooldown.until is not None and cooldown.until <= self._clock():
            del self._cooling[name]
            return None
        return cooldown

    # --- choosing a key -------------------------------------------------------------------------------

    def pick(
        self,
        pool: Sequence[K],
        avoid: Collection[str] = (),
        *,
        strict: bool,
        blocked: Callable[[str], bool] | None = None,
        model: str | None = None,
    ) -> K | None:
        """The key for the next attempt: a fresh one (not cooling, not in ``avoid``, not ``blocked`` by its
        circuit breaker); else, unless ``strict``, the usable key whose cooldown ends first (never one
        refused until replaced). ``model``: what the attempt asks for (a 429 cools a key for one model)."""
        if len(pool) == 1 and not avoid and not self._cooling and blocked is None:  # the common case
            return pool[0]
        fresh = [
            k
            for k in pool
            if k.credential_id not in avoid
            and self.cooling(k.credential_id, model) is None
            and (blocked is None or not blocked(k.credential_id))
        ]
        weighted = [k for k in fresh if k.weight > 0] or fresh
        if weighted:
            return weighted[0] if len(weighted) == 1 else self._choose(weighted)
        if strict:
            return None
        ends: list[tuple[float, int, K]] = []
        for index, key in enumerate(pool):
            cooldown = self.cooling(key.credential_id, model)
            if cooldown is None:
                ends.append((0.0, index, key))
            elif cooldown.until is not None:  # a key refused until replaced is never used
                ends.append((cooldown.until, index, key))
        return min(ends)[2] if ends else None

    def _choose(self, keys: Sequence[K]) -> K:
        if self._selection == "least_in_flight":
            return min(keys, key=lambda k: self._in_flight[k.credential_id] / max(k.weight, 1))
        total = 0.0
        best: K | None = None
        for key in keys:
            weight = float(max(key.weight, 1))
            total += weight
            score = self._current.get(key.credential_id, 0.0) + weight
            self._current[key.credential_id] = score
            if best is None or score > self._current[best.credential_id]:
                best = key
        assert best is not None
        self._current[best.credential_id] -= total
        return best

    def started(self, credential_id: str) -> None:
        self._in_flight[credential_id] += 1

    def finished(self, credential_id: str) -> None:
        self._in_flight[credential_id] -= 1
        if self._in_flight[credential_id] <= 0:
            del self._in_flight[credential_id]

    def has_fresh(self, pool: Sequence[PoolKey], avoid: Collection[str], model: str | None = None) -> bool:
        """Whether ``pick`` would find a fresh key (without moving the rotation on)."""
        return any(
            k.credential_id not in avoid and self.cooling(k.credential_id, model) is None for k in pool
        )

    def now(self) -> float:
        return self._clock()

    def view(self) -> dict[str, Cooldown]:
        """Every cooldown now, by name (``entry``: shared through Redis)."""
        return {name: c for name in list(self._cooling) if (c := self._current_cooldown(name)) is not None}
