"""``GET /metrics``: the Prometheus text format, behind the admin token unless the operator opens it
(``BYOKGATE_METRICS_PUBLIC=true``, for a scraper on a private network); and the gauges read at scrape time
(the batch writer's queue and drops, the circuit breakers that are not closed)."""

from __future__ import annotations

import hmac
from collections import Counter
from collections.abc import Iterable

from starlette.types import Receive, Scope, Send

from byokgate.asgi import send_bytes, send_error
from byokgate.errors import ApiError, AuthenticationError
from byokgate.health.breakers import Breakers
from byokgate.telemetry.metrics import CONTENT_TYPE, Metrics
from byokgate.telemetry.writer import BatchWriter

MODEL_BREAKER = "model:"  # proxy/circuits.py names a model's breaker model:<provider>/<model>


def watch(metrics: Metrics, writer: BatchWriter, breakers: Breakers) -> None:
    """Add the gauges and counters that are read when ``/metrics`` is scraped."""
    metrics.gauge(
        "byokgate_writer_queue_depth",
        "Records, audit events, charges and last-used times not stored yet.",
        lambda: [({}, float(writer.pending))],
    )
    metrics.counter(
        "byokgate_writer_dropped",
        "Records and audit events dropped: backlog full or refused.",
        lambda: writer.dropped,
    )
    metrics.counter(
        "byokgate_writer_spilled",
        "Entries journaled past the backlog's bound (stored by the writer process, not kept in memory).",
        lambda: writer.spilled,
    )
    metrics.counter("byokgate_writer_written", "Rows the batch writer stored.", lambda: writer.written)
    metrics.counter(
        "byokgate_journal_replayed",
        "Entries stored from journal segments a crash left behind.",
        lambda: writer.replayed,
    )
    metrics.gauge(
        "byokgate_breakers",
        "Circuit breakers that are not closed, by provider, scope (provider or model) and state.",
        lambda: _breaker_counts(metrics, breakers),
    )


def _breaker_counts(metrics: Metrics, breakers: Breakers) -> Iterable[tuple[dict[str, str], float]]:
    counts: Counter[tuple[str, str, str]] = Counter()
    for name, breaker in breakers.view().items():
        scope, provider = "provider", name
        if name.startswith(MODEL_BREAKER):
            scope, provider = "model", name.removeprefix(MODEL_BREAKER).partition("/")[0]
        counts[(metrics.provider_label(provider), scope, str(breaker.state))] += 1
    return [({"provider": p, "scope": s, "state": st}, float(n)) for (p, s, st), n in counts.items()]


class MethodNotAllowedError(ApiError):
    status = 405
    type = "invalid_request_error"
    default_code = "method_not_allowed"


class MetricsEndpoint:
    def __init__(self, metrics: Metrics, admin_token: bytes, *, public: bool) -> None:
        self._metrics = metrics
        self._token = admin_token
        self._public = public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            if scope["method"] not in ("GET", "HEAD"):
                raise MethodNotAllowedError("Use GET /metrics.")
            if not self._public:
                self._authorize(scope)
        except ApiError as error:
            await send_error(send, error)
            return
        headers = [(b"content-type", CONTENT_TYPE.encode()), (b"cache-control", b"no-store")]
        await send_bytes(send, 200, self._metrics.render(), headers)

    def _authorize(self, scope: Scope) -> None:
        presented = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, presented = value.partition(b" ")
                if scheme.lower() != b"bearer":
                    presented = b""
        if not presented:
            raise AuthenticationError(
                "/metrics needs the admin token: send Authorization: Bearer <BYOKGATE_ADMIN_TOKEN> "
                "(or set BYOKGATE_METRICS_PUBLIC=true for a scraper on a private network)"
            )
        if not hmac.compare_digest(presented.strip(), self._token):
            raise AuthenticationError("invalid admin token", code="invalid_admin_token")
