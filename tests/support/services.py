"""Where the real PostgreSQL and Redis for the tests are, and whether they answer."""

from __future__ import annotations

import asyncio
import os
import uuid

import asyncpg
import redis.asyncio as aioredis

POSTGRES_URL = os.environ.get("BYOKGATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BYOKGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def with_database(url: str, database: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{database}"


async def _postgres_problem() -> str | None:
    try:
        conn = await asyncpg.connect(_asyncpg_dsn(POSTGRES_URL), timeout=5)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


async def _redis_problem() -> str | None:
    client = aioredis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        await client.ping()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        await client.aclose()
    return None


def postgres_problem() -> str | None:
    return asyncio.run(_postgres_problem())


def redis_problem() -> str | None:
    return asyncio.run(_redis_problem())


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(POSTGRES_URL), timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_database(template: str | None = None) -> str:
    """A new empty (or templated) database; returns its URL."""
    name = f"byokgate_t_{uuid.uuid4().hex[:16]}"
    clause = f" TEMPLATE {template}" if template else ""
    asyncio.run(_admin(f"CREATE DATABASE {name}{clause}"))
    return with_database(POSTGRES_URL, name)


def drop_database(url: str) -> None:
    name = url.rpartition("/")[2]
    asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
