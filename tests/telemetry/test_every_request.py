"""10,000 requests through the gateway (successes, streams, upstream errors, fallbacks, clients that leave
mid-stream, cache hits) leave exactly one record each, with the facts the client was told; on SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from byokgate.settings import Settings
from byokgate.store.database import Store
from byokgate.store.tables import request_log, usage_daily
from tests.proxy.conftest import Gateway, gateway_for
from tests.proxy.test_end_to_end import OPENAI_KEY_A, Upstreams, _settings
from tests.proxy.test_end_to_end import upstreams as upstreams  # the emulators, shared fixture

TOTAL = 10_000
CLIENTS = 8
KINDS = ("plain", "stream", "upstream_error", "fallback", "left", "cached")


@pytest.fixture
def gateway(settings: Settings, upstreams: Upstreams) -> Iterator[Gateway]:
    upstreams.reset()
    yield from gateway_for(_settings(settings, upstreams))


def body(kind: str, n: int) -> dict[str, Any]:
    messages = [{"role": "user", "content": f"request {n}" if kind != "cached" else "the same question"}]
    if kind == "upstream_error":  # the emulator refuses it as OpenAI would: a 400 relayed
        return {"model": "gpt-4o-mini", "messages": messages, "temperature": 5}
    if kind == "fallback":  # the first model is unknown upstream (404): the next one answers
        return {"model": "gpt-4o-not-a-model", "models": ["gpt-4o-mini"], "messages": messages}
    return {"model": "gpt-4o-mini", "messages": messages, "stream": kind in ("stream", "left")}


class Told:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.status: dict[str, int] = {}
        self.kind: dict[str, str] = {}
        self.cache: dict[str, str] = {}


def send(gateway: Gateway, key: str, first: int, told: Told) -> None:
    with httpx.Client(base_url=gateway.url, headers={"authorization": f"Bearer {key}"}, timeout=30) as http:
        for n in range(first, TOTAL, CLIENTS):
            kind = KINDS[n % len(KINDS)]
            with http.stream("POST", "/v1/chat/completions", json=body(kind, n)) as response:
                if kind == "left":
                    next(response.iter_bytes())  # the first bytes, then the client goes away
                else:
                    response.read()
            with told.lock:
                request_id = response.headers["x-byokgate-request-id"]
                told.status[request_id] = response.status_code
                told.kind[request_id] = kind
                told.cache[request_id] = response.headers.get("x-byokgate-cache", "")


async def stored(url: str, project_id: str) -> tuple[dict[str, dict[str, Any]], int]:
    store = Store.from_url(url)
    try:
        async with store.transaction() as tx:
            rows = await tx.connection.execute(
                select(request_log).where(request_log.c.project_id == project_id)
            )
            records = {row.id: dict(row._mapping) for row in rows}
            daily = await tx.connection.execute(
                select(func.sum(usage_daily.c.requests)).where(usage_daily.c.project_id == project_id)
            )
            return records, int(daily.scalar() or 0)
    finally:
        await store.close()


def test_ten_thousand_requests_leave_ten_thousand_records(gateway: Gateway, database_url: str) -> None:
    project_id, key = gateway.project(openai=OPENAI_KEY_A)
    assert gateway.admin.put(f"/projects/{project_id}/cache", json={"enabled": True}).status_code == 200
    time.sleep(0.3)  # the cache settings reach the snapshot (polled every 50 ms here)
    told = Told()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(lambda first: send(gateway, key, first, told), range(CLIENTS)))
    assert len(told.status) == TOTAL

    records: dict[str, dict[str, Any]] = {}
    for _ in range(300):
        records, daily = asyncio.run(stored(database_url, project_id))
        if len(records) >= TOTAL:
            break
        time.sleep(0.1)
    assert set(records) == set(told.status)  # exactly one record per request, none missing, none extra
    assert daily == TOTAL  # and each counted once in the usage aggregates
    outcomes: Counter[tuple[str, int]] = Counter()
    for request_id, record in records.items():
        kind = told.kind[request_id]
        outcomes[(kind, record["status"])] += 1
        assert len(record["trace_id"] or "") == 32
        if kind != "left":  # a client that left mid-stream: 499 if the gateway saw it go, else 200
            assert record["status"] == told.status[request_id], (kind, record)
        if kind == "cached":
            assert record["cache"] == told.cache[request_id]
        if kind == "fallback":
            assert record["routing_reason"].startswith("fallback_after_")
            assert [a["action"] for a in record["attempts"]] == ["failover", "answered"]
        if kind == "upstream_error":
            assert (record["error_type"], record["provider"]) == ("invalid_request_error", "openai")
        if kind in ("plain", "stream", "fallback") or (kind == "cached" and record["cache"] == "MISS"):
            assert record["total_tokens"] > 0
            assert record["cost_micro_usd"] > 0
    per_kind = Counter(told.kind.values())
    assert all(per_kind[kind] >= TOTAL // len(KINDS) for kind in KINDS)
    assert (
        sum(n for (kind, status), n in outcomes.items() if kind == "cached" and status == 200)
        == per_kind["cached"]
    )
    assert (
        Counter(told.cache[r] for r, k in told.kind.items() if k == "cached")["HIT"]
        >= per_kind["cached"] - CLIENTS
    )
