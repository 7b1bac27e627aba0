"""Shared fixtures. Database-backed tests run once on SQLite and once on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from byokgate.admin.services import ControlPlane
from byokgate.app import provider_setup
from byokgate.domain.secret import Secret
from byokgate.limits.counters import Counters, MemoryCounters
from byokgate.limits.redis_counters import RedisCounters
from byokgate.settings import Settings
from byokgate.store import migrate
from byokgate.store.database import Store
from byokgate.transport import Transport
from byokgate.vault import Keyring, Vault
from tests.support import services

ADMIN_TOKEN = "test-admin-token-0123456789abcdef"


def _unavailable(what: str, problem: str) -> None:
    message = f"{what} is not available ({problem})"
    if services.IN_CI:
        pytest.fail(f"{message}; under CI=true every database leg must run", pytrace=False)
    warnings.warn(f"!!! SKIPPING the {what} legs: {message} !!!", stacklevel=1)
    pytest.skip(f"{message} (run `make test`, which starts throwaway servers)")


def _migrate(url: str) -> None:
    async def upgrade() -> None:
        store = Store.from_url(url)
        try:
            await migrate.upgrade(store.engine)
        finally:
            await store.close()

    asyncio.run(upgrade())


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated database to clone per test (CREATE DATABASE ... TEMPLATE is a fast file copy)."""
    problem = services.postgres_problem()
    if problem:
        _unavailable("PostgreSQL", problem)
    url = services.create_database()
    _migrate(url)
    try:
        yield url.rpartition("/")[2]
    finally:
        services.drop_database(url)


@pytest.fixture(scope="session")
def redis_url() -> str:
    problem = services.redis_problem()
    if problem:
        _unavailable("Redis", problem)
    return services.REDIS_URL


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database of each backend."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'byokgate.db'}"
        _migrate(url)
        yield url
        return
    template = request.getfixturevalue("postgres_template")
    url = services.create_database(template)
    try:
        yield url
    finally:
        services.drop_database(url)


@pytest.fixture
def master_key_entry() -> str:
    return Keyring.generate_entry("k1")


@pytest.fixture
def vault(master_key_entry: str) -> Vault:
    return Vault(Keyring.parse(master_key_entry))


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    store = Store.from_url(database_url)
    yield store
    await store.close()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, master_key_entry: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        master_key=master_key_entry,
        admin_token=ADMIN_TOKEN,
        retry_backoff_s=0.01,  # retries wait (full jitter) up to 10 ms, not 500 ms: the suite stays quick
    )


@pytest.fixture
async def control(store: Store, vault: Vault, settings: Settings) -> AsyncIterator[ControlPlane]:
    transport = Transport(timeout_s=5)
    setup = provider_setup(settings)
    yield ControlPlane(store, vault, setup.registry, transport, setup.base_urls)
    await transport.aclose()


OPENAI_KEY = Secret("sk-proj-" + "A1b2C3d4E5f6G7h8I9j0" * 2)
ANTHROPIC_KEY = Secret("sk-ant-api03-" + "Zz9Yy8Xx7Ww6Vv5Uu4Tt" * 2)
GROQ_KEY = Secret("gsk_" + "Q1w2E3r4T5y6U7i8O9p0" * 2)
GEMINI_KEY = Secret("AIza" + "SyM1n2B3v4C5x6Z7l8K9j0H" + "x")


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def counters_backend(request: pytest.FixtureRequest) -> str | None:
    """None for the in-process limit counters, else the URL of the real Redis."""
    return None if request.param == "memory" else str(request.getfixturevalue("redis_url"))


@pytest.fixture
async def counters(counters_backend: str | None) -> AsyncIterator[Counters]:
    """Limit/credit counters of each backend (the in-process ones and the Redis ones)."""
    made: Counters = MemoryCounters() if counters_backend is None else RedisCounters(counters_backend)
    try:
        yield made
    finally:
        await made.aclose()


@pytest.fixture
def cli_env(tmp_path: Path, database_url: str, master_key_entry: str) -> dict[str, str]:
    return {
        "BYOKGATE_DATABASE_URL": database_url,
        "BYOKGATE_MASTER_KEY": master_key_entry,
        "BYOKGATE_DATA_DIR": str(tmp_path / "data"),
    }
