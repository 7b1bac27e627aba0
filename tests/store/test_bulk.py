"""Batch inserts bound by position store exactly what SQLAlchemy's own ``execute(insert(...))`` stores, on
SQLite and PostgreSQL: the same raw column values, every type the writer's tables use."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import insert, text

from byokgate.domain.entities import RequestRecord
from byokgate.store.bulk import BulkInsert
from byokgate.store.database import Store
from byokgate.store.tables import request_log
from tests.store.test_usage import record

COLUMNS = tuple(field.name for field in fields(RequestRecord))
EVERY_TYPE = {  # a value in each column that has a type of its own, and the JSON columns' edge cases
    "created_at": datetime(2026, 12, 7, 23, 30, 1, 123456, tzinfo=timezone(timedelta(hours=-5))),
    "stream": True,
    "latency_ms": 12.625,
    "upstream_ms": None,
    "cost_micro_usd": 2**40,
    "attempts": [{"provider": "openai", "status": 429, "at_ms": 1.5}, {"provider": "groq", "status": 200}],
    "tags": {"user": "ünïcode \u2028 user", "metadata": {"k": [1, None, True]}},
    "client_ip": "::1",
}


async def raw_rows(store: Store, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The rows as the driver returns them (no SQLAlchemy result processing)."""
    async with store.transaction() as tx:
        result = await tx.connection.exec_driver_sql(
            "SELECT * FROM request_log WHERE id IN (" + ", ".join(f"'{i}'" for i in ids) + ")"
        )
        return {row._mapping["id"]: dict(row._mapping) for row in result}


@pytest.mark.parametrize("values", [{}, EVERY_TYPE, {"attempts": None, "tags": None, "stream": False}])
async def test_a_bulk_insert_stores_what_execute_stores(store: Store, values: dict[str, Any]) -> None:
    template = record(1, "proj_x", datetime(2026, 12, 7, tzinfo=UTC), **values)
    via_execute, via_bulk = replace(template, id="req_execute"), replace(template, id="req_bulk")
    async with store.transaction() as tx:
        await tx.connection.execute(insert(request_log), [{n: getattr(via_execute, n) for n in COLUMNS}])
        await BulkInsert(request_log, COLUMNS).run(tx.connection, [[getattr(via_bulk, n) for n in COLUMNS]])
    rows = await raw_rows(store, ["req_execute", "req_bulk"])
    expected, got = rows["req_execute"], rows["req_bulk"]
    assert {**got, "id": "req_execute"} == expected
    async with store.transaction() as tx:
        stored = await tx.requests.get("req_bulk")
    assert stored == replace(via_bulk, created_at=via_bulk.created_at.astimezone(UTC))


async def test_rows_are_given_in_the_callers_column_order(store: Store) -> None:
    columns = tuple(reversed(COLUMNS))  # not the table's order: the statement's placeholders follow it
    one = record(7, "proj_x", datetime(2026, 12, 7, tzinfo=UTC), client_ip="10.0.0.1")
    async with store.transaction() as tx:
        await BulkInsert(request_log, columns).run(tx.connection, [[getattr(one, n) for n in columns]])
        assert await tx.requests.get(one.id) == one


async def test_no_rows_is_no_statement(store: Store) -> None:
    async with store.transaction() as tx:
        await BulkInsert(request_log, COLUMNS).run(tx.connection, [])
        count = (await tx.connection.execute(text("SELECT count(*) FROM request_log"))).scalar_one()
    assert count == 0
