"""A crash of the gateway under load (``kill -9``) loses no answered request's record, no key-use audit event
and no charge a client was told about: the journal is written before an answer ends and is stored exactly
once, by the writer process that outlives the serving one or, when both died, at the next start. On SQLite
and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from byokgate.store.database import Store
from byokgate.store.tables import audit_events, credit_ledger, request_log
from tests.conftest import ADMIN_TOKEN
from tests.proxy.test_end_to_end import OPENAI_KEY_A, POOLED_KEY, Upstreams
from tests.proxy.test_end_to_end import upstreams as upstreams  # the emulators, shared fixture
from tests.support.process import GatewayProcess, gateway_process

POOLED_MODEL = "mistralai/mistral-large"  # nobody holds its provider's key: the pooled lane, charged
ANSWERED_BEFORE_KILL = 700  # past the writer's batch of 500: some batches stored, the rest only journaled


@pytest.fixture
def env(tmp_path: Path, database_url: str, master_key_entry: str, upstreams: Upstreams) -> dict[str, str]:
    plans = json.loads(Path("src/byokgate/billing/plans.json").read_text())
    plans["plans"]["free"]["grant_usd"] = "1000.000000"
    plans["plans"]["free"]["included_tokens"] = 0  # every pooled request is paid with credits
    (tmp_path / "plans.json").write_text(json.dumps(plans))
    return {
        "BYOKGATE_DATABASE_URL": database_url,
        "BYOKGATE_DATA_DIR": str(tmp_path / "data"),
        "BYOKGATE_MASTER_KEY": master_key_entry,
        "BYOKGATE_ADMIN_TOKEN": ADMIN_TOKEN,
        "BYOKGATE_OPENAI_BASE_URL": upstreams.openai.base_url,
        "BYOKGATE_OPENROUTER_BASE_URL": upstreams.openrouter.base_url,
        "BYOKGATE_POOLED_API_KEY": POOLED_KEY,
        "BYOKGATE_PLANS_FILE": str(tmp_path / "plans.json"),
        "BYOKGATE_WRITER_FLUSH_INTERVAL_S": "3600",  # batches go when 500 are queued, never by time
    }


@pytest.fixture
def gateway(tmp_path: Path, env: dict[str, str]) -> Iterator[GatewayProcess]:
    with gateway_process(tmp_path, env) as process:
        yield process


def project(gateway: GatewayProcess) -> str:
    with httpx.Client(
        base_url=f"{gateway.url}/admin/v1", headers={"authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30
    ) as admin:
        created = admin.post("/projects", json={"name": "crash"}).json()
        url = f"/projects/{created['id']}/provider-keys/openai"
        assert admin.put(url, json={"api_key": OPENAI_KEY_A}).status_code == 200
    key: str = created["api_key"]
    for _ in range(200):  # the data plane's snapshot follows the admin change
        probe = httpx.post(
            f"{gateway.url}/v1/chat/completions",
            headers={"authorization": f"Bearer {key}"},
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "ready?"}]},
        )
        if probe.status_code == 200:
            return key
    raise AssertionError(probe.text)


class Load:
    """Clients sending requests until the gateway dies; what each answered request was told."""

    def __init__(self, gateway: GatewayProcess, key: str) -> None:
        self.url = f"{gateway.url}/v1/chat/completions"
        self.key = key
        self.charged: dict[str, int] = {}  # request id -> micro-USD the client was told it was charged
        self.byok: set[str] = set()  # answered requests on the project's own key (one audit event each)
        self.lock = threading.Lock()
        self.answered = threading.Semaphore(0)

    def client(self, index: int) -> None:
        with httpx.Client(headers={"authorization": f"Bearer {self.key}"}, timeout=30) as http:
            for n in range(100_000):
                pooled = (n + index) % 2 == 0
                stream = n % 5 == 0 and not pooled
                body = {
                    "model": POOLED_MODEL if pooled else "gpt-4o-mini",
                    "messages": [{"role": "user", "content": f"crash test {index} {n}"}],
                    "max_tokens": 20,
                    "stream": stream,
                }
                try:
                    with http.stream("POST", self.url, json=body) as response:
                        response.read()  # all of it: the request is answered only when its end arrived
                except httpx.HTTPError:
                    return  # the gateway is gone
                assert response.status_code == 200, response.text
                request_id = response.headers["x-byokgate-request-id"]
                with self.lock:
                    if pooled:
                        told = response.headers["x-byokgate-charged-credits"]
                        self.charged[request_id] = int(Decimal(told) * 1_000_000)
                    else:
                        self.byok.add(request_id)
                self.answered.release()


async def stored(database_url: str) -> tuple[Counter[str], dict[str, list[int]], Counter[str]]:
    """Request-log ids, charges by request id and key-use audit events by request id, as stored."""
    store = Store.from_url(database_url)
    try:
        async with store.transaction() as tx:
            conn = tx.connection
            ids = Counter(row[0] for row in await conn.execute(select(request_log.c.id)))
            charges: dict[str, list[int]] = {}
            ledger = select(credit_ledger.c.request_id, credit_ledger.c.amount_micro_usd).where(
                credit_ledger.c.kind == "charge"
            )
            for request_id, amount in await conn.execute(ledger):
                charges.setdefault(request_id, []).append(-amount)
            uses = Counter(
                row[0]
                for row in await conn.execute(
                    select(audit_events.c.request_id).where(audit_events.c.action == "provider_key.use")
                )
            )
        return ids, charges, uses
    finally:
        await store.close()


def wait_gone(pid: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]:
        assert time.monotonic() < deadline, f"process {pid} is still running"
        time.sleep(0.05)


@pytest.mark.parametrize("victims", ["serving process", "process group"])
def test_kill_9_under_load_loses_nothing_answered_and_stores_it_once(
    gateway: GatewayProcess, tmp_path: Path, env: dict[str, str], database_url: str, victims: str
) -> None:
    """``kill -9`` of the serving process: its writer process (stopped meanwhile, so that the test sees
    what was missing) stores the segments the dead process held, including the one it was appending to,
    then exits. ``kill -9`` of both: the next start replays them."""
    key = project(gateway)
    (writer,) = gateway.children()
    load = Load(gateway, key)
    clients = [threading.Thread(target=load.client, args=(i,)) for i in range(6)]
    for thread in clients:
        thread.start()
    for _ in range(ANSWERED_BEFORE_KILL):
        assert load.answered.acquire(timeout=60), "the load stalled"
    if victims == "serving process":
        os.kill(writer, signal.SIGSTOP)
        gateway.kill()
    else:
        gateway.kill_all()
    for thread in clients:
        thread.join(timeout=60)
    with load.lock:
        charged, byok = dict(load.charged), set(load.byok)
    answered = set(charged) | byok
    assert len(answered) >= ANSWERED_BEFORE_KILL

    ids, _, _ = asyncio.run(stored(database_url))
    lost_by_the_crash = answered - set(ids)
    assert lost_by_the_crash, "every record was in the database already: the crash tested nothing"

    if victims == "serving process":
        os.kill(writer, signal.SIGCONT)  # it finds its lifeline cut: stores what is left, and exits
        wait_gone(writer)
    else:
        with gateway_process(tmp_path, env):  # starts: replays the journal the crashed processes left
            pass
    ids, charges, uses = asyncio.run(stored(database_url))
    assert answered <= set(ids), f"{len(answered - set(ids))} answered requests have no record"
    assert max(ids.values()) == 1
    assert {rid: charges.get(rid) for rid in charged} == {rid: [amount] for rid, amount in charged.items()}
    assert sum(sum(amounts) for amounts in charges.values()) == sum(charged.values()) + sum(
        sum(amounts) for rid, amounts in charges.items() if rid not in charged
    )
    assert all(uses[rid] == 1 for rid in byok), "a BYOK request's key use is missing or doubled"
    assert not list((tmp_path / "data" / "journal").glob("*.journal")), "stored segments are removed"
