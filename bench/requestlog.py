"""How fast the request log answers at scale: generated rows in PostgreSQL, read through the admin API.

    .venv/bin/python bench/requestlog.py                     # 10 million rows over 30 days, 10 projects
    .venv/bin/python bench/requestlog.py --rows 1000000 --keep

It makes a scratch database (``--database``, dropped first unless ``--keep`` finds it filled), migrates it,
creates the projects through the control plane, generates the rows in the database itself
(``generate_series``: half of them the measured project's, spread over 30 days and 12 models, 5% errors),
adds them to the daily usage aggregates as the writer would, and then times, through the real admin API
in process (FastAPI over ASGI, no network), each of: the newest page of 50, a filtered page, the tenth
page by cursor, one request's trace, and the 30-day usage report by day and by model; then the same
through the dashboard's pages (signed in as an admin: the usage page for 30 and 90 days, the requests page,
its tenth page, a trace), rendered HTML included. Each is asked ``--repeat`` times after two warm-up calls;
the report gives the median, p95 and max in milliseconds.
"""

# The SQL is built from this module's own constants and integers, never from input.
# ruff: noqa: S608

from __future__ import annotations

import argparse
import asyncio
import html
import re
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from byokgate.admin.api import build_admin_api
from byokgate.admin.request_log import RequestLog
from byokgate.admin.services import ControlPlane
from byokgate.dashboard.pages import Dashboard
from byokgate.dashboard.sessions import SESSION_COOKIE, Accounts
from byokgate.domain.secret import Secret
from byokgate.providers.setup import configure
from byokgate.store import migrate, partitions
from byokgate.store.database import Store
from byokgate.transport import Transport
from byokgate.vault import Keyring, Vault

ADMIN = "bench-admin-token-0123456789abcdef"
MODELS = (
    "gpt-4o",
    "gpt-4o-mini",
    "o3-mini",
    "claude-3-5-sonnet-20241022",
    "claude-3-5-haiku-20241022",
    "gemini-1.5-pro",
    "gemini-1.5-flash",
    "llama-3.3-70b-versatile",
    "mistral-large-latest",
    "deepseek-chat",
    "grok-2",
    "sonar",
)


async def fill(dsn: str, project_ids: list[str], rows: int, days: int, now: datetime) -> float:
    """Generate ``rows`` request records (half of them the first project's) and their daily sums."""
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        models = "(ARRAY[" + ",".join(f"'{m}'" for m in MODELS) + "])"
        projects = "(ARRAY[" + ",".join(f"'{p}'" for p in project_ids) + "])"
        others = len(project_ids) - 1
        span_s = days * 86400
        chunk = 1_000_000
        for first in range(1, rows + 1, chunk):
            last = min(first + chunk - 1, rows)
            await conn.execute(
                f"""
                INSERT INTO request_log (id, created_at, project_id, api_key_id, endpoint, lane, provider,
                    credential_id, requested_model, resolved_model, stream, status, error_code, error_type,
                    latency_ms, upstream_ms, overhead_ms, ttfb_ms, prompt_tokens, completion_tokens,
                    total_tokens, cache, cached_tokens, cost_micro_usd, charged_micro_usd, trace_id,
                    routing_reason, client_ip, user_agent)
                SELECT 'req_' || lpad(to_hex(n), 26, '0'),
                    $1::timestamptz - make_interval(secs => (n::bigint * 7919) % {span_s}),
                    CASE WHEN n % 2 = 0 THEN {projects}[1] ELSE {projects}[2 + n % {others}] END,
                    'key_' || (n % 4), 'chat/completions', CASE WHEN n % 5 = 0 THEN 'pooled' ELSE 'byok' END,
                    'openai', 'cred_1', {models}[1 + n % 12], {models}[1 + n % 12], n % 3 = 0,
                    CASE WHEN n % 20 = 0 THEN 429 ELSE 200 END,
                    CASE WHEN n % 20 = 0 THEN 'rate_limit_exceeded' END,
                    CASE WHEN n % 20 = 0 THEN 'rate_limit_error' END,
                    200 + n % 800, 190 + n % 800, 1.5, 120.0, 100 + n % 900, 20 + n % 300, 120 + n % 1200,
                    CASE WHEN n % 7 = 0 THEN 'HIT' ELSE 'MISS' END, 0, 50 + n % 5000,
                    CASE WHEN n % 5 = 0 THEN 50 + n % 5000 ELSE 0 END, md5(n::text), 'pinned',
                    '10.0.0.' || (n % 250), 'OpenAI/Python 2.0'
                FROM generate_series({first}, {last}) AS n
                """,
                now,
            )
            print(f"  {last:,} rows ({time.perf_counter() - started:.0f} s)", flush=True)
        await conn.execute(
            """
            INSERT INTO usage_daily (day, project_id, api_key_id, provider, model, lane, requests, errors,
                cache_hits, prompt_tokens, completion_tokens, total_tokens, cached_tokens, cost_micro_usd,
                cost_saved_micro_usd, charged_micro_usd, unpriced_requests)
            SELECT to_char(timezone('UTC', created_at), 'YYYY-MM-DD'), project_id, api_key_id,
                coalesce(provider, ''), coalesce(resolved_model, ''), coalesce(lane, ''), count(*),
                sum(CASE WHEN status >= 400 THEN 1 ELSE 0 END),
                sum(CASE WHEN cache IN ('HIT', 'SEMANTIC-HIT') THEN 1 ELSE 0 END),
                sum(prompt_tokens), sum(completion_tokens), sum(total_tokens), sum(cached_tokens),
                sum(cost_micro_usd), 0, sum(charged_micro_usd), 0
            FROM request_log GROUP BY 1, 2, 3, 4, 5, 6
            """
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def timed(call: Callable[[], Awaitable[httpx.Response]], repeat: int) -> list[float]:
    for _ in range(2):
        (await call()).raise_for_status()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = await call()
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return times


async def dashboard_client(control: ControlPlane) -> httpx.AsyncClient:
    """The dashboard in process, signed in as an admin (made when the database has none)."""
    accounts = Accounts(control.store, session_hours=1)
    email, password = "bench@example.com", "bench-password-0123456789"
    if not await accounts.users():
        await accounts.create_user(email, password, admin=True, actor="bench")
    token = await accounts.sign_in(email, password, "127.0.0.1")
    dashboard = Dashboard(accounts, control, RequestLog(control, default_retention_days=30))
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=dashboard),
        base_url="http://bench",
        cookies={SESSION_COOKIE: token},
        timeout=60,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--projects", type=int, default=10)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--database", default="bench_requestlog")
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--keep", action="store_true", help="reuse the database when it is already filled")
    args = parser.parse_args()
    admin_dsn = f"{args.server}/postgres"
    dsn = f"{args.server}/{args.database}"
    url = f"postgresql+asyncpg://{dsn.removeprefix('postgresql://')}"
    now = datetime.now(UTC)

    server = await asyncpg.connect(admin_dsn)
    exists = await server.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", args.database)
    if exists and not args.keep:
        await server.execute(f'DROP DATABASE "{args.database}"')
        exists = False
    if not exists:
        await server.execute(f'CREATE DATABASE "{args.database}"')
    await server.close()

    store = Store.from_url(url)
    await migrate.upgrade(store.engine)
    vault = Vault(Keyring.parse(Keyring.generate_entry("bench")))
    setup = configure(declared=[], base_urls={}, pooled_provider=None, pooled_key=None, platform_keys={})
    transport = Transport(timeout_s=5)
    control = ControlPlane(store, vault, setup.registry, transport, setup.base_urls)
    existing = await control.list_projects(limit=args.projects)
    if args.keep and len(existing) == args.projects:
        # The first project made (p0) holds half the rows: it is the one measured (listed by id, not age).
        project_ids = [p.id for p in sorted(existing, key=lambda p: int(p.name.removeprefix("p")))]
        print(f"reusing {args.database}")
    else:
        project_ids = [
            (await control.create_project(f"p{i}", actor="bench")).project.id for i in range(args.projects)
        ]
        async with store.transaction() as tx:
            first = (now - timedelta(days=args.days + 1)).date()
            await tx.connection.run_sync(partitions.ensure, first, now.date() + timedelta(days=7))
        print(f"generating {args.rows:,} rows in {args.database} ...")
        seconds = await fill(dsn, project_ids, args.rows, args.days, now)
        print(f"generated in {seconds:.0f} s")
    target = project_ids[0]
    async with store.transaction() as tx:
        count = (await tx.connection.exec_driver_sql("SELECT count(*) FROM request_log")).scalar()
    api = build_admin_api(control, Secret(ADMIN), 1 << 20)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api),
        base_url="http://bench/admin/v1",
        headers={"authorization": f"Bearer {ADMIN}"},
        timeout=60,
    )
    base = f"/projects/{target}"
    tenth = {"limit": 50}
    for _ in range(9):
        tenth["before"] = (await client.get(f"{base}/requests", params=tenth)).json()["next_before"]
    one = (await client.get(f"{base}/requests", params={"limit": 1})).json()["data"][0]["id"]
    start, end = (now - timedelta(days=29)).date().isoformat(), now.date().isoformat()
    day_ago = (now - timedelta(days=1)).isoformat()
    cases: dict[str, Callable[[], Awaitable[httpx.Response]]] = {
        "newest page of 50": lambda: client.get(f"{base}/requests", params={"limit": 50}),
        "page of 50, status=error": lambda: client.get(f"{base}/requests", params={"status": "error"}),
        "page of 50, model=gpt-4o": lambda: client.get(f"{base}/requests", params={"model": "gpt-4o"}),
        "10th page by cursor": lambda: client.get(f"{base}/requests", params=tenth),
        "last day, provider=groq (none)": lambda: client.get(
            f"{base}/requests", params={"provider": "groq", "start": day_ago}
        ),
        "one request's trace": lambda: client.get(f"{base}/requests/{one}"),
        "30-day usage by day": lambda: client.get(f"{base}/usage", params={"start": start, "end": end}),
        "30-day usage by model": lambda: client.get(
            f"{base}/usage", params={"start": start, "end": end, "group_by": "model"}
        ),
    }
    pages = await dashboard_client(control)
    board = f"/dashboard/projects/{target}"
    tenth_page = f"{board}/requests"
    for _ in range(9):
        found = re.search(r'href="([^"]*before=[^"]*)"', (await pages.get(tenth_page)).text)
        assert found is not None, "the requests page has no next page"
        tenth_page = f"{board}/requests" + html.unescape(found.group(1))  # the link is "?before=..."
    cases |= {
        "dashboard: usage page, 30 days": lambda: pages.get(f"{board}/usage?days=30"),
        "dashboard: usage page, 90 days": lambda: pages.get(f"{board}/usage?days=90"),
        "dashboard: requests page": lambda: pages.get(f"{board}/requests"),
        "dashboard: requests, 10th page": lambda: pages.get(tenth_page),
        "dashboard: requests, model filter": lambda: pages.get(f"{board}/requests?model=gpt-4o"),
        "dashboard: a trace": lambda: pages.get(f"{board}/requests/{one}"),
    }
    print(
        f"\n{count:,} rows; the project measured holds about half. Milliseconds over {args.repeat} calls:\n"
    )
    print(f"| {'query':<36} | median | p95 | max |")
    print(f"|{'-' * 38}|-------:|----:|----:|")
    for name, call in cases.items():
        times = sorted(await timed(call, args.repeat))
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
        print(f"| {name:<36} | {statistics.median(times):6.1f} | {p95:.1f} | {times[-1]:.1f} |")
    await client.aclose()
    await pages.aclose()
    await transport.aclose()
    await store.close()


if __name__ == "__main__":
    asyncio.run(main())
