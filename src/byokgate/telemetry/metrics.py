"""Prometheus metrics (prometheus-client), with labels that stay bounded whatever clients send.

Labels are limited to provider (the registry's names), model (the registry's known models; any other is
``other``), lane, endpoint, status class, error type (OpenAI's types; any other is ``other``), cache status
and attempt outcome: never a key, a project, a user or an address. The request path calls ``Metrics.request``
once per request with what its record holds; the label children it needs are looked up once per distinct
label set and kept (a dict lookup after that). Gauges of the writer and the circuit breakers are read when
``/metrics`` is scraped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
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


@dataclass(frozen=True, slots=True)
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
    attempts: tuple[tuple[str, str, int], ...]  # (provider, outcome, upstream status) of each attempt
    fell_back: bool


class _Children:
    """The label children of one (endpoint, provider, model, lane) for one status and cache status."""

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

    def __init__(self, metrics: Metrics, key: tuple[str, str, str, str, str, str, str]) -> None:
        endpoint, provider, model, lane, status_class, error_type, cache = key
        self.requests = metrics.requests.labels(
            endpoint, provider, model, lane, status_class, error_type, cache
        )
        self.latency = metrics.latency.labels(endpoint, provider, lane)
        self.overhead = metrics.overhead.labels(endpoint)
        self.first_token = metrics.first_token.labels(provider, lane)
        self.prompt = metrics.tokens.labels(provider, model, lane, "prompt")
        self.completion = metrics.tokens.labels(provider, model, lane, "completion")
        self.cached = metrics.tokens.labels(provider, model, lane, "cached")
        self.cost = metrics.cost.labels(provider, model, lane)
        self.fallbacks = metrics.fallbacks.labels(provider)


class Metrics:
    def __init__(self, providers: Iterable[str], known_models: Iterable[str]) -> None:
        self.providers = frozenset(providers)
        self.known_models = frozenset(known_models)
        self.registry = CollectorRegistry(auto_describe=False)
        labels = ("endpoint", "provider", "model", "lane", "status_class", "error_type", "cache")
        self.requests = Counter("byokgate_requests", "Data-plane requests.", labels, registry=self.registry)
        self.latency = Histogram(
            "byokgate_request_duration_seconds",
            "Whole request, as the client waited for it.",
            ("endpoint", "provider", "lane"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.overhead = Histogram(
            "byokgate_gateway_overhead_seconds",
            "Time spent in the gateway (the request's time less its upstream time).",
            ("endpoint",),
            buckets=OVERHEAD_BUCKETS,
            registry=self.registry,
        )
        self.first_token = Histogram(
            "byokgate_time_to_first_token_seconds",
            "A stream's first content, from the request's arrival.",
            ("provider", "lane"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.tokens = Counter(
            "byokgate_tokens", "Tokens used.", ("provider", "model", "lane", "kind"), registry=self.registry
        )
        self.cost = Counter(
            "byokgate_cost_usd",
            "List-price cost of the usage.",
            ("provider", "model", "lane"),
            registry=self.registry,
        )
        self.attempts = Counter(
            "byokgate_attempts",
            "Upstream attempts (retries and fallbacks included) by outcome.",
            ("provider", "outcome", "status_class"),
            registry=self.registry,
        )
        self.upstream = Counter(
            "byokgate_upstream_responses",
            "Upstream answers by status code.",
            ("provider", "code"),
            registry=self.registry,
        )
        self.fallbacks = Counter(
            "byokgate_fallbacks",
            "Requests answered by a fallback target.",
            ("provider",),
            registry=self.registry,
        )
        self._children: dict[tuple[str, str, str, str, str, str, str], _Children] = {}

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
        key = (
            facts.endpoint if facts.endpoint in ENDPOINTS else OTHER,
            provider,
            self.model_label(facts.model),
            facts.lane or NONE,
            _status_class(facts.status),
            NONE
            if facts.error_type is None
            else facts.error_type
            if facts.error_type in ERROR_TYPES
            else OTHER,
            NONE if facts.cache is None else facts.cache if facts.cache in CACHE_STATUSES else OTHER,
        )
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = _Children(self, key)
        children.requests.inc()
        children.latency.observe(facts.seconds)
        children.overhead.observe(max(facts.overhead_s, 0.0))
        if facts.first_token_s is not None:
            children.first_token.observe(facts.first_token_s)
        if facts.prompt_tokens:
            children.prompt.inc(facts.prompt_tokens)
        if facts.completion_tokens:
            children.completion.inc(facts.completion_tokens)
        if facts.cached_tokens:
            children.cached.inc(facts.cached_tokens)
        if facts.cost_micro_usd:
            children.cost.inc(facts.cost_micro_usd / 1_000_000)
        if facts.fell_back:
            children.fallbacks.inc()
        for attempt_provider, outcome, status in facts.attempts:
            label = self.provider_label(attempt_provider)
            self.attempts.labels(label, outcome, _status_class(status)).inc()
            if 100 <= status <= 599:
                self.upstream.labels(label, str(status)).inc()

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


def _status_class(status: int) -> str:
    if 100 <= status <= 599:
        return f"{status // 100}xx"
    return NONE


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
