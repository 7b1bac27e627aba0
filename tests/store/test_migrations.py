from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect

from byokgate.store import migrate
from byokgate.store.database import Store
from byokgate.store.tables import metadata
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


def _diff(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), metadata))


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
