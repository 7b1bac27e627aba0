"""The Auto lane: ``model: "auto"`` picks from the models the project can reach and its plan allows.

``auto`` and ``auto:cheap`` take every grade, ``auto:balanced`` mid and large models, ``auto:best`` the large
ones. A candidate (``auto_models.json``) is capable when its context window holds the request's prompt and
output cap, and it does what the request needs (tools, images, JSON output); capable candidates are tried
cheapest first, the project's own keys (BYOK) before the pooled lane (platform credits, only models of a
tier the project's plan includes, and only when its billing policy allows the lane). The chain escalates
along that list on failure; after a context-length error it skips the candidates whose window is no
larger. ``SessionPins`` keeps the model that answered a conversation (``x-byokgate-session``) first for
its next requests, so that a provider's prompt cache stays warm.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from byokgate.routing.policy import Lane, Route

MODES = {"auto": 1, "auto:cheap": 1, "auto:balanced": 2, "auto:best": 3}  # mode -> the lowest grade it takes
_BYTES_PER_TOKEN = 4  # the same generous estimate the limits hold requests with
_DEFAULT_OUTPUT = 4096


@dataclass(frozen=True, slots=True)
class Candidate:
    provider: str
    model: str  # the provider's native name (the BYOK lane)
    pooled: str | None  # its OpenRouter-format name on the pooled lane, when that lane serves it
    context: int
    tools: bool
    vision: bool
    json: bool
    grade: int


@dataclass(frozen=True, slots=True)
class Needs:
    """What a request asks of the model that answers it."""

    tokens: int  # prompt (estimated from its size) and output cap
    tools: bool = False
    vision: bool = False
    json: bool = False


def needs_of(body: dict[str, Any], body_size: int) -> Needs:
    """A canonical (chat completions) body's needs."""
    cap = body.get("max_completion_tokens") or body.get("max_tokens")
    output = cap if isinstance(cap, int) and not isinstance(cap, bool) and cap > 0 else _DEFAULT_OUTPUT
    messages = body.get("messages")
    vision = isinstance(messages, list) and any(
        isinstance(part, dict) and part.get("type") in ("image_url", "input_image")
        for message in messages
        if isinstance(message, dict) and isinstance(message.get("content"), list)
        for part in message["content"]
    )
    response_format = body.get("response_format")
    json_out = isinstance(response_format, dict) and response_format.get("type") in (
        "json_object",
        "json_schema",
    )
    return Needs(body_size // _BYTES_PER_TOKEN + output, bool(body.get("tools")), vision, json_out)


class AutoCatalog:
    def __init__(self, candidates: list[Candidate]) -> None:
        self.candidates = candidates
        self._windows = {(c.provider, c.model): c.context for c in candidates}
        self._pooled_windows = {c.pooled: c.context for c in candidates if c.pooled}

    @classmethod
    def load(cls) -> AutoCatalog:
        raw = json.loads(resources.files("byokgate.routing").joinpath("auto_models.json").read_text())
        return cls([Candidate(**entry) for entry in raw["models"]])

    def window(self, route: Route) -> int | None:
        """A target's context window, when the catalog knows its model."""
        if route.lane is Lane.POOLED:
            return self._pooled_windows.get(route.upstream_model)
        return self._windows.get((route.provider, route.upstream_model))

    def plan(
        self,
        mode: str,
        needs: Needs,
        project_providers: frozenset[str],
        pooled: str | None,
        allowed: Callable[[Route], bool],
        price: Callable[[Route], int | None],
    ) -> list[Route]:
        """The capable candidates for ``mode``, as targets: the project's own keys cheapest first, then
        the pooled lane's (``pooled``: its provider, None when the project may not use it) that
        ``allowed`` (the plan's tiers) lets through, cheapest first."""
        lowest = MODES[mode]
        byok: list[Route] = []
        lane: list[Route] = []
        for candidate in self.candidates:
            if candidate.grade < lowest or not _capable(candidate, needs):
                continue
            if candidate.provider in project_providers:
                byok.append(Route(Lane.BYOK, candidate.provider, candidate.model, candidate.model))
            elif pooled is not None and candidate.pooled is not None:
                route = Route(Lane.POOLED, pooled, candidate.pooled, candidate.pooled)
                if allowed(route):
                    lane.append(route)

        def cheapest(route: Route) -> tuple[bool, int]:
            cost = price(route)
            return cost is None, cost or 0

        return sorted(byok, key=cheapest) + sorted(lane, key=cheapest)


def _capable(candidate: Candidate, needs: Needs) -> bool:
    return (
        candidate.context >= needs.tokens
        and (candidate.tools or not needs.tools)
        and (candidate.vision or not needs.vision)
        and (candidate.json or not needs.json)
    )


class SessionPins:
    """The model that answered each conversation (project, ``x-byokgate-session``), for an hour, bounded."""

    def __init__(
        self, capacity: int = 10_000, ttl_s: float = 3600.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._pins: OrderedDict[tuple[str, str], tuple[float, Route]] = OrderedDict()
        self._capacity = capacity
        self._ttl_s = ttl_s
        self._clock = clock

    def get(self, project_id: str, session: str) -> Route | None:
        pinned = self._pins.get((project_id, session))
        if pinned is None:
            return None
        if pinned[0] <= self._clock():
            del self._pins[(project_id, session)]
            return None
        return pinned[1]

    def pin(self, project_id: str, session: str, route: Route) -> None:
        key = (project_id, session)
        self._pins[key] = (self._clock() + self._ttl_s, route)
        self._pins.move_to_end(key)
        while len(self._pins) > self._capacity:
            self._pins.popitem(last=False)
