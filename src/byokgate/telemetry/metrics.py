"""Prometheus metrics, with labels that stay bounded whatever clients send.

Labels are limited to provider (the registry's names), model (the registry's known models; any other is
``other``), lane, endpoint, status class, error type (OpenAI's types; any other is ``other``), cache status
and attempt outcome: never a key, a project, a user or an address.

The request path calls ``Metrics.request`` once per request. It only adds to plain numbers kept per kind of
request (``_Series``: one per distinct label set, found with one dict lookup); prometheus-client's own
instruments take a lock and a few method calls per update, which cost ~20 µs a request here, so they are
not used on the request path. When ``/metrics`` is scraped a prometheus-client collector (``_Exposition``)
sums the series into the metric families (counters, histograms with cumulative buckets) and the library
renders the text format. Everything runs on the event loop's thread: no locks are needed.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OTHER = "other"
NONE = "none"
ENDPOINTS = frozenset(
    {"chat/completions", "embeddings", "messages", "messages/count_tokens", "models", "generations"}
)
ERROR_TYPES = frozenset(
    {
        "invalid_request_error",
        "authentication_error",
        "permission_error",
        "not_found_error",
        "rate_limit_error",
        "insufficient_quota",
        "api_error",
        "overloaded_error",
        "request_too_large",
        "timeout_error",
        "client_closed_request",
    }
)
CACHE_STATUSES = frozenset({"HIT", "SEMANTIC-HIT", "MISS", "REFRESH", "BYPASS"})
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
OVERHEAD_BUCKETS = (0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)

# endpoint, provider, model, lane, status (0: none), error type, cache status
Key = tuple[str, str, str, str, int, str, str]
Attempt = tuple[str, str, int]  # provider, outcome, upstream status


@dataclass(slots=True)  # made per request: not frozen (a frozen __init__ costs ~2x)
class RequestFacts:
    """What ``Metrics.request`` needs of one request (the data plane fills it from the request's record)."""

    endpoint: str
    provider: str | None
    model: str | None
    lane: str | None
    status: int
    error_type: str | None
    cache: str | None
    seconds: float
    overhead_s: float
    first_token_s: float | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cached_tokens: int | None
    cost_micro_usd: int | None
    # (provider, outcome, upstream status) of each attempt; None: one attempt, the request's own status
    attempts: tuple[Attempt, ...] | None
    fell_back: bool


class _Histogram:
    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last: above every bound (+Inf)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value

    def merge(self, other: _Histogram) -> None:
        for i, count in enumerate(other.counts):
            self.counts[i] += count
        self.total += other.total

    def buckets(self) -> list[tuple[str, float]]:
        running, out = 0, []
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            out.append(("+Inf" if bound == float("inf") else repr(bound), float(running)))
        return out


class _Series:
    """What the requests of one label set added up to."""

    __slots__ = (
        "cached",
        "completion",
        "cost",
        "fallbacks",
        "first_token",
        "latency",
        "overhead",
        "prompt",
        "requests",
    )

    def __init__(self) -> None:
        self.requests = 0
        self.latency = _Histogram(LATENCY_BUCKETS)
        self.overhead = _Histogram(OVERHEAD_BUCKETS)
        self.first_token = _Histogram(LATENCY_BUCKETS)
        self.prompt = self.completion = self.cached = self.cost = self.fallbacks = 0


class Metrics:
    def __init__(self, providers: Iterable[str], known_models: Iterable[str]) -> None:
        self.providers = frozenset(providers)
        self.known_models = frozenset(known_models)
        self.registry = CollectorRegistry(auto_describe=False)
        self._series: dict[Key, _Series] = {}
        self._attempts: defaultdict[Attempt, int] = defaultdict(int)  # label values already bounded
        self.registry.register(_Exposition(self))

    def provider_label(self, provider: str | None) -> str:
        if provider is None:
            return NONE
        return provider if provider in self.providers else OTHER

    def model_label(self, model: str | None) -> str:
        if model is None:
            return NONE
        return model if model in self.known_models else OTHER

    def request(self, facts: RequestFacts) -> None:
        provider = self.provider_label(facts.provider)
        error_type, cache, status = facts.error_type, facts.cache, facts.status
        key = (
            facts.endpoint if facts.endpoint in ENDPOINTS else OTHER,
            provider,
            self.model_label(facts.model),
            facts.lane or NONE,
            status if 100 <= status <= 599 else 0,
            NONE if error_type is None else error_type if error_type in ERROR_TYPES else OTHER,
            NONE if cache is None else cache if cache in CACHE_STATUSES else OTHER,
        )
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = _Series()
        series.requests += 1
        series.latency.observe(facts.seconds)
        series.overhead.observe(max(facts.overhead_s, 0.0))
        if facts.first_token_s is not None:
            series.first_token.observe(facts.first_token_s)
        series.prompt += facts.prompt_tokens or 0
        series.completion += facts.completion_tokens or 0
        series.cached += facts.cached_tokens or 0
        series.cost += facts.cost_micro_usd or 0
        series.fallbacks += facts.fell_back
        if facts.attempts is None:  # one attempt, which the request's status says all about
            self._attempts[(provider, "answered" if status < 400 else "terminal", status)] += 1
        else:
            for attempted, outcome, upstream in facts.attempts:
                self._attempts[(self.provider_label(attempted), outcome, upstream)] += 1

    def gauge(
        self, name: str, documentation: str, read: Callable[[], Iterable[tuple[dict[str, str], float]]]
    ) -> None:
        """A gauge read at scrape time: ``read`` gives (labels, value) pairs."""
        self.registry.register(_Read(name, documentation, read, counter=False))

    def counter(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        """A counter kept elsewhere (a plain int), read at scrape time."""
        self.registry.register(_Read(name, documentation, lambda: [({}, read())], counter=True))

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def series(self) -> Iterator[tuple[Key, _Series]]:
        return iter(list(self._series.items()))

    def attempts(self) -> Iterator[tuple[Attempt, int]]:
        return iter(list(self._attempts.items()))


def _status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status <= 599 else NONE


class _Exposition(Collector):
    """The request series summed into metric families at scrape time."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        requests: defaultdict[tuple[str, ...], int] = defaultdict(int)
        latency: dict[tuple[str, ...], _Histogram] = {}
        overhead: dict[tuple[str, ...], _Histogram] = {}
        first_token: dict[tuple[str, ...], _Histogram] = {}
        tokens: defaultdict[tuple[str, ...], int] = defaultdict(int)
        cost: defaultdict[tuple[str, ...], int] = defaultdict(int)
        fallbacks: defaultdict[tuple[str, ...], int] = defaultdict(int)
        for (endpoint, provider, model, lane, status, error_type, cache), s in self._metrics.series():
            requests[(endpoint, provider, model, lane, _status_class(status), error_type, cache)] += (
                s.requests
            )
            _merge(latency, (endpoint, provider, lane), s.latency)
            _merge(overhead, (endpoint,), s.overhead)
            if sum(s.first_token.counts):
                _merge(first_token, (provider, lane), s.first_token)
            for kind, count in (("prompt", s.prompt), ("completion", s.completion), ("cached", s.cached)):
                if count:
                    tokens[(provider, model, lane, kind)] += count
            if s.cost:
                cost[(provider, model, lane)] += s.cost
            if s.fallbacks:
                fallbacks[(provider,)] += s.fallbacks
        yield _counter(
            "byokgate_requests",
            "Data-plane requests.",
            ("endpoint", "provider", "model", "lane", "status_class", "error_type", "cache"),
            requests,
        )
        yield _histogram(
            "byokgate_request_duration_seconds",
            "Whole request, as the client waited for it.",
            ("endpoint", "provider", "lane"),
            latency,
        )
        yield _histogram(
            "byokgate_gateway_overhead_seconds",
            "Time spent in the gateway (the request's time less its upstream time).",
            ("endpoint",),
            overhead,
        )
        yield _histogram(
            "byokgate_time_to_first_token_seconds",
            "A stream's first content, from the request's arrival.",
            ("provider", "lane"),
            first_token,
        )
        yield _counter("byokgate_tokens", "Tokens used.", ("provider", "model", "lane", "kind"), tokens)
        usd = CounterMetricFamily(
            "byokgate_cost_usd", "List-price cost of the usage.", labels=("provider", "model", "lane")
        )
        for labels, micro in cost.items():
            usd.add_metric(labels, micro / 1_000_000)
        yield usd
        attempts: defaultdict[tuple[str, ...], int] = defaultdict(int)
        upstream: defaultdict[tuple[str, ...], int] = defaultdict(int)
        for (provider, outcome, status), count in self._metrics.attempts():
            attempts[(provider, outcome, _status_class(status))] += count
            if 100 <= status <= 599:
                upstream[(provider, str(status))] += count
        yield _counter(
            "byokgate_attempts",
            "Upstream attempts (retries and fallbacks included) by outcome.",
            ("provider", "outcome", "status_class"),
            attempts,
        )
        yield _counter(
            "byokgate_upstream_responses", "Upstream answers by status code.", ("provider", "code"), upstream
        )
        yield _counter(
            "byokgate_fallbacks", "Requests answered by a fallback target.", ("provider",), fallbacks
        )


def _merge(into: dict[tuple[str, ...], _Histogram], labels: tuple[str, ...], histogram: _Histogram) -> None:
    merged = into.get(labels)
    if merged is None:
        merged = into[labels] = _Histogram(histogram.bounds)
    merged.merge(histogram)


def _counter(
    name: str, documentation: str, labels: tuple[str, ...], values: dict[tuple[str, ...], int]
) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=labels)
    for label_values, value in values.items():
        family.add_metric(label_values, value)
    return family


def _histogram(
    name: str, documentation: str, labels: tuple[str, ...], values: dict[tuple[str, ...], _Histogram]
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, documentation, labels=labels)
    for label_values, histogram in values.items():
        family.add_metric(label_values, histogram.buckets(), histogram.total)
    return family


class _Read(Collector):
    def __init__(
        self,
        name: str,
        documentation: str,
        read: Callable[[], Iterable[tuple[dict[str, str], float]]],
        *,
        counter: bool,
    ) -> None:
        self._name, self._documentation, self._read, self._counter = name, documentation, read, counter

    def collect(self) -> Iterator[Metric]:
        values = list(self._read())
        names = sorted({name for labels, _ in values for name in labels})
        family: CounterMetricFamily | GaugeMetricFamily
        if self._counter:
            family = CounterMetricFamily(self._name, self._documentation, labels=names)
        else:
            family = GaugeMetricFamily(self._name, self._documentation, labels=names)
        for labels, value in values:
            family.add_metric([labels[name] for name in names], value)
        yield family
