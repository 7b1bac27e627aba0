"""A target's circuit breakers, as the chain consults them: what fails where.

Each target has two: its provider's (``provider:<name>``), which counts the failures that say the provider
cannot be reached at all (a connection refused or reset), and its model's (``model:<provider>/<model>``),
which counts those of an upstream that answered but not well (5xx, 529, timeouts, an unreadable answer):
providers fail model by model (an overloaded model, an aggregator with no upstream left for one model),
and one model's outage must not close the door on the provider's others. An attempt goes only when both
let it; a project key's breaker (``key:<credential id>``, ``proxy/keys.py``) sees every failure of its key.
"""

from __future__ import annotations

from collections.abc import Sequence

from byokgate.health.breakers import Breakers
from byokgate.routing.policy import Route

# What says an upstream is unwell, and where; what says it answered (it is alive).
_UNREACHABLE = frozenset({"reset"})
_UNWELL = frozenset({"5xx", "overloaded", "timeout", "ttft_timeout", "bad_response"})
_ALIVE = frozenset({"429", "quota", "auth", "not_found", "context_length", "content_policy", "bad_request"})


def circuits_of(route: Route) -> tuple[str, str]:
    """The target's provider breaker and its model's."""
    return "provider:" + route.provider, f"model:{route.provider}/{route.upstream_model}"


class Circuits:
    def __init__(self, breakers: Breakers) -> None:
        self.breakers = breakers

    def admit(self, route: Route) -> str | None:
        """Let an attempt at ``route`` through (taking a due probe); else the open breaker that refuses it."""
        breakers = self.breakers
        if not breakers.any_open:
            return None
        names = circuits_of(route)
        for index, name in enumerate(names):
            if not breakers.acquire(name):
                for taken in names[:index]:  # a probe taken on the way goes back
                    breakers.release(taken)
                return name
        return None

    def observe(self, route: Route, credential_id: str | None, reason: str) -> None:
        """What an attempt's failure (its reason word) says of the provider, the model and the key."""
        provider, model = circuits_of(route)
        breakers = self.breakers
        if reason in _UNREACHABLE or reason in _UNWELL:
            unwell, other = (provider, model) if reason in _UNREACHABLE else (model, provider)
            breakers.failed(unwell)
            breakers.release(other)  # no verdict on the other (a probe it was is over)
            if credential_id is not None:
                breakers.failed("key:" + credential_id)
        elif reason in _ALIVE:
            breakers.succeeded(provider)
            breakers.succeeded(model)
        else:  # it never reached the upstream (a key cooling, a translation refused): no verdict
            breakers.release(provider)
            breakers.release(model)

    def answered(self, route: Route, credential_id: str | None) -> None:
        provider, model = circuits_of(route)
        breakers = self.breakers
        breakers.succeeded(provider)
        breakers.succeeded(model)
        if credential_id is not None:
            breakers.succeeded("key:" + credential_id)

    def retry_in(self, name: str) -> int:
        """Whole seconds until an open breaker's probe is due (at least 1), for ``retry-after``."""
        return max(int(self.breakers.retry_in(name) + 0.999), 1)

    def unless_all_open(self, targets: Sequence[Route]) -> Sequence[Route]:
        """The targets, or, when every one is refused by an open breaker, the least recently failed alone,
        as a probe (its open breakers made due)."""
        breakers = self.breakers
        refusing: list[list[str]] = []
        for route in targets:
            blocked = [name for name in circuits_of(route) if breakers.blocked(name)]
            if not blocked:
                return targets
            refusing.append(blocked)
        probe = min(
            range(len(targets)), key=lambda i: max(breakers.last_failure(name) for name in refusing[i])
        )
        for name in refusing[probe]:
            breakers.force_probe(name)
        return [targets[probe]]
