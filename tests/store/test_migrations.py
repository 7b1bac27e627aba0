from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, insert, inspect, text

from byokgate.store import migrate, partitions
from byokgate.store.database import Store
from byokgate.store.tables import metadata, projects, provider_credentials
from tests.support import services


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/m.db"
        return
    request.getfixturevalue("postgres_template")  # skips or fails loudly when PostgreSQL is absent
    url = services.create_database()
    try:
        yield url
    finally:
        services.drop_database(url)


def _declared(name: str | None, type_: str, _parents: object) -> bool:
    """What the schema declares: the request log's partitions are made and dropped at run time."""
    return not (type_ == "table" and name is not None and partitions.is_partition(name))


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"include_name": _declared})
    return list(compare_metadata(context, metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_migrations_build_exactly_the_declared_schema(empty_database: str) -> None:
    store = Store.from_url(empty_database)
    try:
        assert await migrate.current_revision(store.engine) is None
        await migrate.upgrade(store.engine)
        assert await migrate.current_revision(store.engine) == migrate.head_revision()
        async with store.engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
        await migrate.upgrade(store.engine)  # idempotent
        await migrate.downgrade(store.engine, "base")
        async with store.engine.connect() as conn:
            assert await conn.run_sync(_tables) <= {"alembic_version"}
        await migrate.upgrade(store.engine)
        async with store.engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await store.close()


async def test_concurrent_migrators_do_not_collide(empty_database: str) -> None:
    stores = [Store.from_url(empty_database) for _ in range(3)]
    try:
        await asyncio.gather(*(migrate.upgrade(s.engine) for s in stores))
        assert await migrate.current_revision(stores[0].engine) == migrate.head_revision()
    finally:
        for s in stores:
            await s.close()


def test_the_fast_path_head_constant_matches_alembic() -> None:
    # upgrade() skips Alembic when the database is stamped HEAD_REVISION: a new migration must move it.
    assert migrate.head_revision() == migrate.HEAD_REVISION


async def test_todays_keys_become_the_default_key_of_their_pool_and_back(empty_database: str) -> None:
    store = Store.from_url(empty_database)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    try:
        await migrate.upgrade(store.engine, "0011")
        async with store.engine.begin() as conn:  # rows as 0011 had them: only its columns
            project = {"id": "proj_1", "name": "p", "wrapped_data_key": b"w", "master_key_id": "k1"}
            await conn.execute(insert(projects).values(**project, created_at=now, updated_at=now))
            for cid, provider in (("cred_1", "openai"), ("cred_2", "groq")):
                row = {"id": cid, "project_id": "proj_1", "provider": provider, "masked": "sk-..."}
                await conn.execute(
                    insert(provider_credentials).values(
                        **row, ciphertext=b"cipher-" + cid.encode(), created_at=now, updated_at=now
                    )
                )
        await migrate.upgrade(store.engine)
        async with store.transaction() as tx:
            keys = await tx.credentials.list_for_project("proj_1")
            assert [(k.id, k.provider, k.name, k.weight, k.state) for k in keys] == [
                ("cred_2", "groq", "default", 1, "active"),
                ("cred_1", "openai", "default", 1, "active"),
            ]
            assert keys[1].ciphertext == b"cipher-cred_1"  # nothing lost
            second = replace(keys[1], id="cred_3", name="backup", ciphertext=b"cipher-cred_3")
            await tx.credentials.replace(second)
        await migrate.downgrade(store.engine, "0011")  # back to one key per provider: the default stays
        async with store.engine.connect() as conn:
            rows = (await conn.execute(text("SELECT id FROM provider_credentials ORDER BY id"))).all()
            assert [row.id for row in rows] == ["cred_1", "cred_2"]
    finally:
        await store.close()


OLD_ROW = (  # a request-log row as migration 0013 left the table: only its columns
    "INSERT INTO request_log (id, created_at, project_id, api_key_id, endpoint, lane, provider, "
    "resolved_model, stream, status, latency_ms, prompt_tokens, total_tokens, cost_micro_usd) VALUES (:id, "
    ":at, 'proj_1', 'key_1', 'chat/completions', 'byok', 'openai', 'gpt-4o', false, :status, 12.5, 10, 15, 7)"
)
DAILY = "SELECT day, requests, errors, prompt_tokens, cost_micro_usd FROM usage_daily ORDER BY day"


async def test_the_request_log_keeps_its_rows_when_partitioned_and_back(empty_database: str) -> None:
    store = Store.from_url(empty_database)
    days = [datetime(2026, 11, 28, 10, tzinfo=UTC) + timedelta(days=i) for i in range(3)]
    try:
        await migrate.upgrade(store.engine, "0013")
        async with store.engine.begin() as conn:  # rows as 0013 had them: only its columns
            for i, at in enumerate(days):
                for n in range(2):
                    at_value = at.replace(tzinfo=None) if store.backend == "sqlite" else at
                    values = {"id": f"req_{i}_{n}", "at": at_value, "status": 200 + 302 * n}
                    await conn.execute(text(OLD_ROW), values)
        await migrate.upgrade(store.engine)
        async with store.engine.connect() as conn:
            ids = (await conn.execute(text("SELECT id FROM request_log ORDER BY id"))).scalars().all()
            assert ids == [f"req_{i}_{n}" for i in range(3) for n in range(2)]
            usage = (await conn.execute(text(DAILY))).all()
            assert [tuple(row) for row in usage] == [(at.date().isoformat(), 2, 1, 20, 14) for at in days]
            if store.backend == "postgresql":
                made = await conn.run_sync(partitions.existing)
                assert {at.date() for at in days} <= set(made)
                assert max(made) >= datetime.now(UTC).date() + timedelta(days=7)  # made ahead
        await migrate.downgrade(store.engine, "0013")
        async with store.engine.connect() as conn:
            count = (await conn.execute(text("SELECT count(*) FROM request_log"))).scalar()
            assert count == 6
    finally:
        await store.close()
