"""Platform credits on the pooled lane, through the gateway with the official OpenAI SDK."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from byokgate.settings import Settings
from tests.proxy.conftest import Gateway, gateway_for
from tests.proxy.test_end_to_end import OPENAI_KEY_A, USER, Upstreams, _settings
from tests.proxy.test_end_to_end import upstreams as upstreams  # the emulators, shared fixture

POOLED_MODEL = "mistralai/mistral-large"  # a standard-tier model nobody holds a key for: pooled lane


def micro(text: str) -> int:
    return int(Decimal(text) * 1_000_000)


def ledger(gateway: Gateway, project_id: str, count: int) -> dict[str, Any]:
    """The project's credits once ``count`` ledger entries are written (charges go through the writer)."""
    shown: dict[str, Any] = {}
    for _ in range(200):
        shown = gateway.admin.get(f"/projects/{project_id}/credits", params={"limit": 500}).json()
        if len(shown["data"]) >= count:
            return shown
        time.sleep(0.02)
    raise AssertionError(f"expected {count} ledger entries, got {len(shown.get('data', []))}")


@pytest.fixture
def small_grant_plans(tmp_path: Path) -> Path:
    plans = json.loads(Path("src/byokgate/billing/plans.json").read_text())
    plans["plans"]["free"]["grant_usd"] = "0.010000"
    plans["plans"]["free"]["included_tokens"] = 0  # credits from the first token (included ones: below)
    path = tmp_path / "plans.json"
    path.write_text(json.dumps(plans))
    return path


@pytest.fixture
def gateway(settings: Settings, upstreams: Upstreams, small_grant_plans: Path) -> Iterator[Gateway]:
    upstreams.reset()
    yield from gateway_for(_settings(settings, upstreams, plans_file=small_grant_plans))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_pooled_requests_are_charged_and_byok_ones_never_are(gateway: Gateway) -> None:
    project_id, key = gateway.project("credits", openai=OPENAI_KEY_A)
    start = ledger(gateway, project_id, 1)
    assert start["balance_usd"] == "0.010000"  # the free preview's grant
    assert [e["kind"] for e in start["data"]] == ["grant"]
    client = gateway.client(key)

    byok = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=USER)
    assert byok.headers["x-byokgate-charged-credits"] == "0.000000"
    pooled = client.chat.completions.with_raw_response.create(
        model=POOLED_MODEL, messages=USER, max_tokens=200
    )
    assert pooled.headers["x-byokgate-lane"] == "pooled"
    charged = pooled.headers["x-byokgate-charged-credits"]
    assert charged == pooled.headers["x-byokgate-cost-usd"]
    assert micro(charged) > 0
    streamed = list(
        client.chat.completions.create(
            model=POOLED_MODEL,
            messages=USER,
            max_tokens=200,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert streamed[-1].usage is not None
    stream_cost = round((streamed[-1].usage.model_extra or {})["cost"] * 1_000_000)

    after = ledger(gateway, project_id, 3)
    charges = [e for e in after["data"] if e["kind"] == "charge"]
    assert sorted(micro(e["amount_usd"]) for e in charges) == sorted([-micro(charged), -stream_cost])
    assert {e["request_id"] for e in charges} >= {pooled.headers["x-byokgate-request-id"]}
    assert micro(after["balance_usd"]) == 10_000 - micro(charged) - stream_cost
    generation = httpx.get(
        f"{gateway.url}/v1/generations/{pooled.headers['x-byokgate-request-id']}",
        headers={"authorization": f"Bearer {key}"},
    ).json()
    assert (generation["lane"], generation["charged_credits"]) == ("pooled", charged)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_out_of_credits_is_a_402_until_credits_are_added(gateway: Gateway) -> None:
    project_id, key = gateway.project("credits")
    client = gateway.client(key)
    refused = None
    for _ in range(200):
        try:
            client.chat.completions.create(model=POOLED_MODEL, messages=USER, max_tokens=200)
        except openai.APIStatusError as exc:
            refused = exc
            break
    assert refused is not None
    assert refused.status_code == 402
    assert refused.code == "insufficient_credits"
    assert "credits" in refused.message
    spent = ledger(gateway, project_id, 2)
    assert micro(spent["balance_usd"]) >= 0  # never below zero: each worst case was held first

    added = gateway.admin.post(f"/projects/{project_id}/credits", json={"amount_usd": "5", "kind": "topup"})
    assert added.status_code == 201
    assert added.json()["data"][0]["kind"] == "topup"
    gateway.wait_for_snapshot(lambda snapshot: snapshot.credits_of(project_id).granted_micro_usd > 10_000)
    client.chat.completions.create(model=POOLED_MODEL, messages=USER, max_tokens=200)
    for bad in ({"amount_usd": 0}, {"amount_usd": "1", "kind": "charge"}, {"amount_usd": "0.0000001"}):
        assert gateway.admin.post(f"/projects/{project_id}/credits", json=bad).status_code == 422, bad


@pytest.mark.redis
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_two_instances_sharing_postgres_and_redis_never_overspend(
    settings: Settings, upstreams: Upstreams, small_grant_plans: Path, redis_url: str
) -> None:
    upstreams.reset()
    shared = _settings(settings, upstreams, plans_file=small_grant_plans, redis_url=redis_url)
    for first in gateway_for(shared):
        project_id, key = first.project("race")
        for second in gateway_for(shared):
            _race(first, second, project_id, key)


def _race(first: Gateway, second: Gateway, project_id: str, key: str) -> None:
    second.wait_for_snapshot(lambda snapshot: snapshot.credits_of(project_id).granted_micro_usd > 0)
    clients = [first.client(key), second.client(key)]

    def ask(index: int) -> int:
        try:
            clients[index % 2].chat.completions.create(model=POOLED_MODEL, messages=USER, max_tokens=60)
        except openai.APIStatusError as exc:
            return exc.status_code
        return 200

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(ask, range(100)))
    assert set(statuses) <= {200, 402}
    assert statuses.count(402) > 0
    served = statuses.count(200)
    shown = ledger(first, project_id, 1 + served)
    charged = -sum(micro(e["amount_usd"]) for e in shown["data"] if e["kind"] == "charge")
    assert charged <= 10_000  # the grant: no overspend across instances
    assert micro(shown["balance_usd"]) >= 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_plans_included_tokens_come_first_then_credits(
    settings: Settings, upstreams: Upstreams, tmp_path: Path
) -> None:
    plans = json.loads(Path("src/byokgate/billing/plans.json").read_text())
    plans["plans"]["free"].update({"grant_usd": "1.00", "included_tokens": 300})
    path = tmp_path / "plans.json"
    path.write_text(json.dumps(plans))
    upstreams.reset()
    for gateway in gateway_for(_settings(settings, upstreams, plans_file=path)):
        project_id, key = gateway.project("included")
        client = gateway.client(key)
        charged = []
        for _ in range(6):  # each holds ~260 tokens of the 300 included while it runs, then uses far fewer
            raw = client.chat.completions.with_raw_response.create(
                model=POOLED_MODEL, messages=USER, max_tokens=250
            )
            charged.append(raw.headers["x-byokgate-charged-credits"])
        assert charged[0] == "0.000000"  # the included tokens paid
        assert charged[-1] != "0.000000"  # then credits
        paid = [c for c in charged if c != "0.000000"]
        shown = ledger(gateway, project_id, 1 + len(paid))
        charges = [e for e in shown["data"] if e["kind"] == "charge"]
        assert sorted(-micro(e["amount_usd"]) for e in charges) == sorted(micro(c) for c in paid)


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_concurrent_requests_on_one_instance_never_overspend(gateway: Gateway) -> None:
    project_id, key = gateway.project("race")
    _race(gateway, gateway, project_id, key)
