"""``GET /metrics``: Prometheus's text format (read back with prometheus-client's own parser), behind the
admin token, and labels that stay bounded whatever model names clients send."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from byokgate.settings import Settings
from tests.conftest import ADMIN_TOKEN
from tests.proxy.conftest import Gateway, gateway_for
from tests.proxy.test_end_to_end import OPENAI_KEY_A, USER, Upstreams, _settings
from tests.proxy.test_end_to_end import upstreams as upstreams  # the emulators, shared fixture

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
ADMIN = {"authorization": f"Bearer {ADMIN_TOKEN}"}
SECRET_LABELS = ("key", "project", "user", "ip", "api_key", "credential")


@pytest.fixture
def gateway(settings: Settings, upstreams: Upstreams) -> Iterator[Gateway]:
    upstreams.reset()
    yield from gateway_for(_settings(settings, upstreams))


def scrape(gateway: Gateway, headers: dict[str, str] | None = ADMIN) -> list[Sample]:
    response = httpx.get(f"{gateway.url}/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return [sample for family in text_string_to_metric_families(response.text) for sample in family.samples]


def counted(gateway: Gateway, requests: int) -> list[Sample]:
    """The metrics once ``requests`` requests are in them (a request is counted just after its answer)."""
    for _ in range(100):
        samples = scrape(gateway)
        if value(samples, "byokgate_requests_total") >= requests:
            return samples
        time.sleep(0.02)
    raise AssertionError(f"fewer than {requests} requests counted")


def value(samples: list[Sample], name: str, **labels: str) -> float:
    return sum(s.value for s in samples if s.name == name and labels.items() <= s.labels.items())


def test_metrics_need_the_admin_token(gateway: Gateway) -> None:
    missing = httpx.get(f"{gateway.url}/metrics")
    assert missing.status_code == 401
    assert "admin token" in missing.json()["error"]["message"]
    wrong = httpx.get(f"{gateway.url}/metrics", headers={"authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert httpx.post(f"{gateway.url}/metrics", headers=ADMIN).status_code == 405
    assert scrape(gateway)


def test_metrics_can_be_opened_for_a_private_scraper(settings: Settings, upstreams: Upstreams) -> None:
    for gateway in gateway_for(_settings(settings, upstreams, metrics_public=True)):
        assert scrape(gateway, headers=None)


def test_requests_tokens_cost_latency_and_attempts_are_counted(gateway: Gateway) -> None:
    _, key = gateway.project(openai=OPENAI_KEY_A)
    client = gateway.client(key)
    for _ in range(3):
        client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=USER, stream=True, stream_options={"include_usage": True}
    )
    usage = [chunk.usage for chunk in stream if chunk.usage is not None]
    refused = httpx.post(
        f"{gateway.url}/v1/chat/completions",
        headers={"authorization": "Bearer lgw_proj_wrong"},
        json={"model": "gpt-4o-mini", "messages": USER},
    )
    assert refused.status_code == 401

    samples = counted(gateway, 5)
    ok = {"endpoint": "chat/completions", "provider": "openai", "model": "gpt-4o-mini", "lane": "byok"}
    assert value(samples, "byokgate_requests_total", **ok, status_class="2xx") == 4
    unauthenticated = {"provider": "none", "status_class": "4xx", "error_type": "authentication_error"}
    assert value(samples, "byokgate_requests_total", **unauthenticated) == 1
    assert value(samples, "byokgate_request_duration_seconds_count", provider="openai") == 4
    assert value(samples, "byokgate_gateway_overhead_seconds_count", endpoint="chat/completions") == 5
    assert value(samples, "byokgate_time_to_first_token_seconds_count", provider="openai") == 1
    assert (
        value(samples, "byokgate_tokens_total", provider="openai", kind="completion")
        >= usage[0].completion_tokens
    )
    assert value(samples, "byokgate_cost_usd_total", provider="openai", model="gpt-4o-mini") > 0
    assert value(samples, "byokgate_attempts_total", provider="openai", outcome="answered") == 4
    assert value(samples, "byokgate_upstream_responses_total", provider="openai", code="200") == 4
    assert value(samples, "byokgate_writer_queue_depth") >= 0
    for sample in samples:
        assert not any(name in SECRET_LABELS for name in sample.labels), sample


def test_series_stay_bounded_under_ten_thousand_client_model_names(gateway: Gateway) -> None:
    _, key = gateway.project(openai=OPENAI_KEY_A)
    headers = {"authorization": f"Bearer {key}"}

    def send(first: int) -> None:
        with httpx.Client(base_url=gateway.url, headers=headers) as http:
            for i in range(first, 10_000, 4):
                # Names routed nowhere (400), and, every 50th, a name an upstream is asked for (its 404).
                model = f"gpt-4o-made-up-{i}" if i % 50 == 0 else f"made-up-model-{i}"
                http.post("/v1/chat/completions", json={"model": model, "messages": USER})

    before = len(scrape(gateway))
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(send, range(4)))
    samples = counted(gateway, 10_000)
    models = {s.labels["model"] for s in samples if "model" in s.labels}
    assert models <= {"none", "other", "gpt-4o-mini"}, models
    assert value(samples, "byokgate_requests_total", provider="openai", model="other") == 10_000 // 50
    assert len(samples) - before < 200, f"{len(samples) - before} series for 10,000 model names"
