"""The metric series the request path adds to, as prometheus-client renders and parses them."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from byokgate.telemetry.metrics import Metrics, RequestFacts
from tests.telemetry.test_metrics import value


def test_histogram_buckets_are_cumulative_and_inclusive() -> None:
    metrics = Metrics(["openai"], ["gpt-4o"])
    for seconds in (0.005, 0.007, 3.0):
        metrics.request(
            RequestFacts(
                "chat/completions",
                "openai",
                "gpt-4o",
                "byok",
                200,
                None,
                "MISS",
                seconds,
                0.001,
                None,
                1,
                2,
                None,
                10,
                None,
                False,
            )
        )
    samples = [s for f in text_string_to_metric_families(metrics.render().decode()) for s in f.samples]
    buckets = {
        s.labels["le"]: s.value for s in samples if s.name == "byokgate_request_duration_seconds_bucket"
    }
    assert (buckets["0.005"], buckets["0.01"], buckets["2.5"], buckets["5.0"], buckets["+Inf"]) == (
        1,
        2,
        2,
        3,
        3,
    )
    assert value(samples, "byokgate_request_duration_seconds_sum") == pytest.approx(3.012)
    assert value(samples, "byokgate_cost_usd_total") == pytest.approx(30 / 1_000_000)
    assert value(samples, "byokgate_attempts_total", outcome="answered", status_class="2xx") == 3
