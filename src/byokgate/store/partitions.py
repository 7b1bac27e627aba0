"""Daily partitions on PostgreSQL (declarative range partitioning on ``created_at``) of the request log and
of the request bodies (each function takes the parent table; the request log by default).

Partitions are made ahead of time (``ensure``: today and the next days), so rows land in their day's
partition; a default partition catches anything outside them (a clock far off, a journal replayed after
its day was dropped). Retention drops whole days (``drop_before``), never deletes rows one by one. Every
function takes a synchronous connection: the migration calls them directly, the running gateway through
``AsyncConnection.run_sync``.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import Connection, text

PARENT = "request_log"
BODIES = "request_bodies"
_LOCK = 0x6279_6F6B  # advisory lock id: one instance at a time runs partition maintenance


def default_of(parent: str) -> str:
    return f"{parent}_default"


def is_partition(table: str) -> bool:
    return any(table == default_of(p) or _day(p).fullmatch(table) is not None for p in (PARENT, BODIES))


def _day(parent: str) -> re.Pattern[str]:
    return re.compile(rf"{parent}_p(\d{{8}})")


def name(day: date, parent: str = PARENT) -> str:
    return f"{parent}_p{day:%Y%m%d}"


def existing(conn: Connection, parent: str = PARENT) -> list[date]:
    """The days that have a partition, oldest first."""
    rows = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = :parent"
        ),
        {"parent": parent},
    )
    days = []
    pattern = _day(parent)
    for (relname,) in rows:
        match = pattern.fullmatch(relname)
        if match is not None:
            days.append(date(int(match[1][:4]), int(match[1][4:6]), int(match[1][6:])))
    return sorted(days)


def ensure(conn: Connection, first: date, last: date, parent: str = PARENT) -> list[str]:
    """Make the partitions of the days from ``first`` to ``last`` that are missing (and the default one)."""
    made = []
    have = set(existing(conn, parent))
    conn.execute(text(f"CREATE TABLE IF NOT EXISTS {default_of(parent)} PARTITION OF {parent} DEFAULT"))
    day = first
    while day <= last:
        if day not in have:
            start, end = day.isoformat(), (day + timedelta(days=1)).isoformat()
            conn.execute(
                text(
                    f"CREATE TABLE IF NOT EXISTS {name(day, parent)} PARTITION OF {parent} "
                    f"FOR VALUES FROM ('{start} 00:00:00+00') TO ('{end} 00:00:00+00')"
                )
            )
            made.append(name(day, parent))
        day += timedelta(days=1)
    return made


def drop_before(conn: Connection, cutoff: date, parent: str = PARENT) -> list[str]:
    """Drop the partitions of the days before ``cutoff``."""
    dropped = []
    for day in existing(conn, parent):
        if day < cutoff:
            conn.execute(text(f"DROP TABLE IF EXISTS {name(day, parent)}"))
            dropped.append(name(day, parent))
    return dropped


def try_lock(conn: Connection) -> bool:
    """Take the maintenance lock for this transaction (False: another instance is at it)."""
    return bool(conn.execute(text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": _LOCK}).scalar())
