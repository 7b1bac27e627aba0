"""The request log's CPU a request: handing over on the serving side, decoding and storing in the writer.

    .venv/bin/python bench/writer_cost.py [--requests 5000] [--rounds 5] [--database URL]

The serving side's part (building nothing: the entries are made beforehand) is what the data plane does per
answered request: hand the record, the key-use audit event and the key's last use to the batch writer and
commit the journal (one ``write(2)``). The writer's part is what the writer process does with the released
segments: read and decode them and store them, each in one transaction, exactly as ``BatchWriter.
store_leftovers`` does. Both are CPU time of this process (``time.process_time``: every thread, the database
driver's included), divided by the requests; the median of the rounds and the lowest and highest are given.
The database is a scratch SQLite file unless ``--database`` names another (it is migrated and gets a project).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

if not __package__:  # run as a script, `python bench/writer_cost.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from byokgate.admin.services import ControlPlane
from byokgate.domain.entities import NewAuditEvent, RequestRecord
from byokgate.providers.setup import configure
from byokgate.store import migrate
from byokgate.store.database import Store
from byokgate.telemetry.journal import Journal
from byokgate.telemetry.writer import BatchWriter
from byokgate.transport import Transport
from byokgate.vault import Keyring, Vault

SEGMENT = 500  # requests a released segment holds (a second of a busy gateway's answers)


def entries(
    project_id: str, key_id: str, n: int, now: datetime, first: int
) -> list[tuple[RequestRecord, NewAuditEvent]]:
    """What ``proxy/records.record`` hands over for a BYOK chat completion that answered."""
    made = []
    for i in range(first, first + n):
        request_id = f"req_{i:032x}"
        made.append(
            (
                RequestRecord(
                    id=request_id,
                    created_at=now,
                    project_id=project_id,
                    api_key_id=key_id,
                    endpoint="chat/completions",
                    lane="byok",
                    provider="openai",
                    credential_id="cred_0123456789abcdef0123456789abcdef",
                    requested_model="gpt-4o-mini",
                    resolved_model="gpt-4o-mini",
                    stream=False,
                    status=200,
                    error_code=None,
                    latency_ms=1.234 + i % 7,
                    upstream_ms=0.987,
                    prompt_tokens=12,
                    completion_tokens=9,
                    total_tokens=21,
                    upstream_request_id=f"chatcmpl-{i:024x}",
                    cache="MISS",
                    cached_tokens=0,
                    cost_micro_usd=7,
                    charged_micro_usd=0,
                    trace_id=f"{i:032x}",
                    routing_reason="requested",
                    overhead_ms=0.247,
                    ttfb_ms=0.8,
                    client_ip="127.0.0.1",
                    user_agent="wrk",
                ),
                NewAuditEvent(
                    actor=f"api_key:{key_id}",
                    action="provider_key.use",
                    project_id=project_id,
                    provider="openai",
                    credential_id="cred_0123456789abcdef0123456789abcdef",
                    api_key_id=key_id,
                    request_id=request_id,
                    outcome="ok",
                    detail={"status": 200, "model": "gpt-4o-mini"},
                    at=now,
                ),
            )
        )
    return made


def hand_over(
    writer: BatchWriter, journal: Journal, made: list[tuple[RequestRecord, NewAuditEvent]]
) -> float:
    """The serving side: CPU seconds to hand everything over, a commit a request, a release a segment."""
    started = time.process_time()
    for i, (record, event) in enumerate(made, 1):
        writer.key_used(record.api_key_id, record.created_at)
        writer.request(record)
        writer.audit(event)
        writer.commit()
        if i % SEGMENT == 0:
            journal.seal(release=True)
    journal.seal(release=True)
    return time.process_time() - started


async def measure(args: argparse.Namespace, url: str, folder: Path) -> None:
    store = Store.from_url(url)
    transport = Transport(timeout_s=5)
    try:
        await migrate.upgrade(store.engine)
        vault = Vault(Keyring.parse(Keyring.generate_entry("bench")))
        setup = configure(declared=[], base_urls={}, pooled_provider=None, pooled_key=None, platform_keys={})
        control = ControlPlane(store, vault, setup.registry, transport, setup.base_urls)
        created = await control.create_project("writer-cost", actor="bench")
        project_id, key_id = created.project.id, created.api_key.key.id
        serving: list[float] = []
        storing: list[float] = []
        for round_no in range(args.rounds):
            directory = folder / f"journal-{round_no}"
            journal = Journal(directory)
            journal.open()
            # the serving side: never stores (a huge interval, nothing flushed), only journals
            writer = BatchWriter(store, journal=journal, flush_interval_s=3600, max_pending=10**9)
            made = entries(project_id, key_id, args.requests, datetime.now(UTC), round_no * args.requests)
            serving.append(hand_over(writer, journal, made) / args.requests * 1e6)
            # the writer process's side
            storer = BatchWriter(store, journal=Journal(directory), flush_interval_s=3600)
            started = time.process_time()
            stored = await storer.store_leftovers()
            storing.append((time.process_time() - started) / args.requests * 1e6)
            journal.close()
            expected = args.requests * 2
            if stored != expected:
                raise SystemExit(f"stored {stored} entries, expected {expected}")
        for name, figures in (
            ("serving side (hand over + commit)", serving),
            ("writer (decode + store)", storing),
        ):
            print(
                f"{name:36} {statistics.median(figures):7.1f} µs a request (lowest {min(figures):.1f}) "
                f"(rounds: {' '.join(f'{x:.0f}' for x in figures)})"
            )
    finally:
        await transport.aclose()
        await store.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database", help="a database URL (default: a scratch SQLite file)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="byokgate-writer-cost-") as tmp:
        folder = Path(tmp)
        url = args.database or f"sqlite+aiosqlite:///{folder / 'bench.db'}"
        asyncio.run(measure(args, url, folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
