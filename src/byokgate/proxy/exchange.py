"""One data-plane request's record (``Exchange``), and the small helpers every step shares: a request's
usage, the response-started guard, the client-gone watch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from starlette.types import Receive, Send

from byokgate.asgi import Headers
from byokgate.billing.credits import CreditHold
from byokgate.domain.entities import Limits
from byokgate.health.keys import Cooldown
from byokgate.pricing.cost import usd
from byokgate.proxy.bodies import BodyCapture
from byokgate.proxy.continuation import Broken
from byokgate.routing.policy import Lane, Route
from byokgate.snapshot.model import KeyEntry
from byokgate.telemetry.tracing import TraceContext

if TYPE_CHECKING:
    from opentelemetry.trace import Span

NO_TRACE = TraceContext("0" * 32, None)  # replaced by the data plane as the request arrives


@dataclass(slots=True)
class Exchange:
    """What one request learned along the way; becomes its request record."""

    request_id: str
    started: float
    endpoint: str
    key: KeyEntry | None = None
    route: Route | None = None
    model: str | None = None  # the model the client asked for (recorded even when nothing routes it)
    credential_id: str | None = None
    stream: bool = False
    upstream_started: float | None = None
    upstream_ms: float = 0.0
    first_byte: float | None = None  # perf_counter() when the answering attempt's upstream head arrived
    first_token: float | None = None  # a stream: when its first content left for the client
    status: int = 0
    error_code: str | None = None
    error_type: str | None = None  # the error's type in OpenAI's terms (metrics' bounded label)
    usage: dict[str, Any] = field(default_factory=dict)
    upstream_request_id: str | None = None
    cache: str = "BYPASS"  # x-byokgate-cache: HIT, SEMANTIC-HIT, MISS, REFRESH or BYPASS
    cache_key: str | None = None  # the opaque x-byokgate-cache-key
    cache_similarity: float | None = None  # a semantic hit's cosine similarity
    cost_micro: int | None = None  # what the usage costs at list price (None: unknown or no usage)
    saved_micro: int | None = None  # a cache hit: what the stored answer cost
    limits: list[tuple[str, Limits]] | None = None  # the (scope, limits) the request is under, if any
    body_size: int = 0  # bytes of the request body (for the worst-case estimate limits hold)
    credit_hold: CreditHold | None = None  # pooled lane: the credits held until the request is charged
    charged_micro: int | None = None  # credits charged when not simply the cost (0: included tokens paid)
    attempts: list[Attempt] | None = None  # the failed attempts (and the last, once there were several)
    attempt_count: int = 1
    routing_reason: str = "pinned"  # x-byokgate-routing-reason: why the answering target was chosen
    waited_ms: float = 0.0  # upstream time of earlier attempts, and the backoffs between them
    tried_keys: set[str] = field(default_factory=set)  # the project's keys this request went with
    pool_size: int = 1  # keys in the pool the last attempt's key came from
    rotatable: bool = False  # the last attempt's key failed and its pool has a fresh one
    cooled: list[tuple[str, str, Cooldown]] = field(default_factory=list)  # (provider, key, cooldown)
    broken: Broken | None = None  # the stream broke after reaching the client, left open to carry on
    trace: TraceContext = NO_TRACE  # the W3C trace context the request came with (or a new trace)
    trace_id: str = ""  # the trace the request's record, logs and upstream requests carry
    span: Span | None = None  # the request's server span, when traces are exported
    finish_reason: str | None = None  # why the answer ended (the upstream's word), when it says
    answer_id: str | None = None  # a native answer's own id (a stored response's, for its owner)
    pinned_key: tuple[str, str] | None = None  # (provider, key id) this request must go with there
    tags: dict[str, Any] | None = None  # the client's ``user`` and ``metadata``, for the record
    client_ip: str | None = None
    user_agent: str | None = None
    capture: BodyCapture | None = None  # the request's bodies (kept by its project, or for its span)
    capture_content: bool = False  # the server span carries message content (opted in)

    def upstream_done(self) -> None:
        """Note the time spent waiting on upstream so far (excluded from the overhead figure)."""
        if self.upstream_started is not None:
            self.upstream_ms = self.waited_ms + (time.perf_counter() - self.upstream_started) * 1000

    def failed_attempt(self, attempt: Attempt, waited_ms: float) -> None:
        """Keep a failed attempt and forget what it set, for the next one; ``waited_ms``: its upstream time
        and the backoff after it."""
        if self.attempts is None:
            self.attempts = []
        self.attempts.append(attempt)
        self.waited_ms += waited_ms
        self.upstream_ms = self.waited_ms
        self.credential_id = self.upstream_request_id = self.error_code = None
        self.first_byte = None
        self.status = 0
        self.usage = {}
        self.cost_micro = self.charged_micro = None

    def charged(self) -> int | None:
        """Credits charged: none on the BYOK lane (the provider bills the project), else what was charged,
        or the cost while the charge is still to come; None when there is nothing to say."""
        if self.route is None or self.cost_micro is None:
            return None
        if self.route.lane is Lane.BYOK:
            return 0
        return self.cost_micro if self.charged_micro is None else self.charged_micro

    def gateway_headers(self) -> Headers:
        overhead = (time.perf_counter() - self.started) * 1000 - self.upstream_ms
        headers = [(b"x-byokgate-request-id", self.request_id.encode())]
        if self.route is not None:
            headers += _route_headers(self.route)
            headers.append((b"x-byokgate-routing-reason", self.routing_reason.encode()))
            headers.append((b"x-byokgate-attempts", b"%d" % self.attempt_count))
        headers.append((b"x-byokgate-cache", self.cache.encode()))
        if self.cache_key is not None:
            headers.append((b"x-byokgate-cache-key", self.cache_key.encode()))
        if self.cache_similarity is not None:
            headers.append((b"x-byokgate-cache-similarity", f"{self.cache_similarity:.4f}".encode()))
        if self.cost_micro is not None:
            headers.append((b"x-byokgate-cost-usd", usd(self.cost_micro).encode()))
            charged = self.charged()
            if charged is not None:
                headers.append((b"x-byokgate-charged-credits", usd(charged).encode()))
        if self.saved_micro is not None:
            headers.append((b"x-byokgate-cost-saved-usd", usd(self.saved_micro).encode()))
        headers.append((b"x-byokgate-overhead-ms", f"{overhead:.3f}".encode()))
        return headers


_ROUTE_HEADERS: dict[Route, Headers] = {}


def _route_headers(route: Route) -> Headers:
    """A target's headers, encoded once: the routing policy hands out few distinct routes."""
    known = _ROUTE_HEADERS.get(route)
    if known is None:
        if len(_ROUTE_HEADERS) >= 4096:
            _ROUTE_HEADERS.clear()
        known = _ROUTE_HEADERS[route] = [
            (b"x-byokgate-provider", route.provider.encode()),
            (b"x-byokgate-model", route.upstream_model.encode()),
            (b"x-byokgate-lane", route.lane.encode()),  # a StrEnum: ``.value`` costs ~0.4 µs
            (b"x-byokgate-routed-model", route.requested_model.encode()),
        ]
    return known


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt at one target, as the request record and the final error list it."""

    route: Route
    credential_id: str | None
    status: int  # the upstream's (or the gateway's) status for it; 0 when none came
    code: str | None
    action: str  # what followed: retry, failover, terminal (or answered)
    reason: str | None  # the routing-reason word of the failure
    ms: float
    ended: float = field(default_factory=time.perf_counter)  # made as the attempt ends

    def as_record(self, request_started: float) -> dict[str, Any]:
        """The attempt as the request record lists it (``at_ms``: its start, from the request's arrival)."""
        return {
            "provider": self.route.provider,
            "model": self.route.upstream_model,
            "lane": str(self.route.lane),
            "credential_id": self.credential_id,
            "status": self.status,
            "code": self.code,
            "action": self.action,
            "reason": self.reason,
            "ms": round(self.ms, 1),
            "at_ms": round(max((self.ended - request_started) * 1000 - self.ms, 0.0), 1),
        }


class Responded:
    """Wraps ``send`` to know whether the response has started (then errors can no longer be sent), and
    holds back the message that ends the response until ``finish``: the data plane first makes the request's
    record and charge durable, so that nothing a client has been answered can be lost by a crash."""

    __slots__ = ("_last", "_send", "capture", "started")

    def __init__(self, send: Send) -> None:
        self._send = send
        self.started = False
        self._last: Any = None
        self.capture: BodyCapture | None = None  # the response's bodies, when its project keeps them

    async def __call__(self, message: Any) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.started = True
        elif kind == "http.response.body":
            if self.capture is not None:
                self.capture.add(message.get("body", b""))
            if not message.get("more_body", False):
                self._last = message
                return
        await self._send(message)

    async def finish(self) -> None:
        """Send the message that ends the response (if one was sent)."""
        if self._last is not None:
            message, self._last = self._last, None
            await self._send(message)


async def disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def parsed_body(body: bytes) -> Any:
    """A JSON answer parsed once for every reader (usage, cache checks); None when it is not JSON."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def usage_of(parsed: object) -> dict[str, Any]:
    usage = parsed.get("usage") if isinstance(parsed, dict) else None
    return usage if isinstance(usage, dict) else {}


def cached_tokens(usage: dict[str, Any]) -> int | None:
    details = usage.get("prompt_tokens_details")
    return as_int(details.get("cached_tokens")) if isinstance(details, dict) else None


def as_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def finish_reason(parsed: object) -> str | None:
    """An answer's finish reason: its first choice's (chat completions) or its ``stop_reason`` (Messages)."""
    if not isinstance(parsed, dict):
        return None
    choices = parsed.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        reason = choices[0].get("finish_reason")
    else:
        reason = parsed.get("stop_reason")
    return reason if isinstance(reason, str) else None


_MAX_TAG_BYTES = 4096


def tags_of(body: dict[str, Any]) -> dict[str, Any] | None:
    """What the client sent to tag its request (``user``, and ``metadata`` as OpenAI and Anthropic take it),
    for the record; None when nothing, or when it is too large to keep (more than 4 KB)."""
    user, metadata = body.get("user"), body.get("metadata")
    if user is None and metadata is None:
        return None
    tags: dict[str, Any] = {}
    if isinstance(user, str):
        tags["user"] = user
    if isinstance(metadata, dict) and metadata:
        tags["metadata"] = metadata
    if not tags or len(orjson.dumps(tags)) > _MAX_TAG_BYTES:
        return None
    return tags
