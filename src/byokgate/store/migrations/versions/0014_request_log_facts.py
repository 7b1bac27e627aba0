"""The request log's per-request facts (trace id, error type, routing reason, latency split, cache-write
and reasoning tokens, client address and agent, the client's tags); on PostgreSQL the log becomes
partitioned by day (its rows copied over); daily usage aggregates (filled from the rows already logged);
each project's log retention.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

# The SQL here is built from this module's own constants (column lists, the day expression), never input.
# ruff: noqa: S608

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

from byokgate.store import partitions
from byokgate.store.tables import REQUEST_LOG_FACTS, USAGE_SUMS, UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_BASE_COLUMNS = (
    "id, created_at, project_id, api_key_id, endpoint, lane, provider, credential_id, requested_model, "
    "resolved_model, stream, status, error_code, latency_ms, upstream_ms, prompt_tokens, completion_tokens, "
    "total_tokens, upstream_request_id, cache, cached_tokens, cost_micro_usd, cost_saved_micro_usd, "
    "charged_micro_usd, attempts"
)
_DAYS_AHEAD = 7


def _request_log_columns(with_facts: bool) -> list[sa.Column[object]]:
    columns: list[sa.Column[object]] = [
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("project_id", sa.String(40), nullable=False),
        sa.Column("api_key_id", sa.String(40), nullable=False),
        sa.Column("endpoint", sa.String(32), nullable=False),
        sa.Column("lane", sa.String(16), nullable=True),
        sa.Column("provider", sa.String(32), nullable=True),
        sa.Column("credential_id", sa.String(40), nullable=True),
        sa.Column("requested_model", sa.String(200), nullable=True),
        sa.Column("resolved_model", sa.String(200), nullable=True),
        sa.Column("stream", sa.Boolean(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("upstream_ms", sa.Float(), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=True),
        sa.Column("total_tokens", sa.Integer(), nullable=True),
        sa.Column("upstream_request_id", sa.String(128), nullable=True),
        sa.Column("cache", sa.String(16), nullable=True),
        sa.Column("cached_tokens", sa.Integer(), nullable=True),
        sa.Column("cost_micro_usd", sa.BigInteger(), nullable=True),
        sa.Column("cost_saved_micro_usd", sa.BigInteger(), nullable=True),
        sa.Column("charged_micro_usd", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.JSON(none_as_null=True), nullable=True),
    ]
    if with_facts:
        columns += [sa.Column(name, type_, nullable=True) for name, type_ in REQUEST_LOG_FACTS]
    return columns


def upgrade() -> None:
    conn = op.get_bind()
    op.add_column("projects", sa.Column("log_retention_days", sa.Integer(), nullable=True))
    if conn.dialect.name == "postgresql":
        _partition(conn)
    else:
        _rebuild(["id", "created_at"], with_facts=True)
    op.create_table(
        "usage_daily",
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("project_id", sa.String(40), nullable=False),
        sa.Column("api_key_id", sa.String(40), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("lane", sa.String(16), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False, server_default="0") for name in USAGE_SUMS),
        sa.PrimaryKeyConstraint("day", "project_id", "api_key_id", "provider", "model", "lane"),
    )
    day = (
        "substr(created_at, 1, 10)"
        if conn.dialect.name == "sqlite"
        else "to_char(timezone('UTC', created_at), 'YYYY-MM-DD')"
    )
    conn.execute(
        sa.text(
            "INSERT INTO usage_daily (day, project_id, api_key_id, provider, model, lane, "
            f"{', '.join(USAGE_SUMS)}) "
            f"SELECT {day}, project_id, api_key_id, coalesce(provider, ''), coalesce(resolved_model, ''), "
            "coalesce(lane, ''), count(*), "
            "sum(CASE WHEN status >= 400 THEN 1 ELSE 0 END), "
            "sum(CASE WHEN cache IN ('HIT', 'SEMANTIC-HIT') THEN 1 ELSE 0 END), "
            "coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0), "
            "coalesce(sum(total_tokens), 0), coalesce(sum(cached_tokens), 0), "
            "coalesce(sum(cost_micro_usd), 0), "
            "coalesce(sum(cost_saved_micro_usd), 0), coalesce(sum(charged_micro_usd), 0), "
            "sum(CASE WHEN cost_micro_usd IS NULL AND total_tokens > 0 THEN 1 ELSE 0 END) "
            f"FROM request_log GROUP BY {day}, project_id, api_key_id, coalesce(provider, ''), "
            "coalesce(resolved_model, ''), coalesce(lane, '')"
        )
    )


def _rebuild(key: list[str], *, with_facts: bool) -> None:
    """SQLite: the request log again, with ``key`` as its primary key (its rows copied over)."""
    op.rename_table("request_log", "request_log_old")
    op.drop_index("ix_request_log_project_id_created_at", table_name="request_log_old")
    op.create_table(
        "request_log",
        *_request_log_columns(with_facts=with_facts),
        sa.PrimaryKeyConstraint(*key, name="pk_request_log"),
    )
    op.create_index("ix_request_log_project_id_created_at", "request_log", ["project_id", "created_at"])
    op.execute(f"INSERT INTO request_log ({_BASE_COLUMNS}) SELECT {_BASE_COLUMNS} FROM request_log_old")
    op.drop_table("request_log_old")


def _partition(conn: sa.Connection) -> None:
    """Rebuild the request log as a table partitioned by day and copy its rows over."""
    op.rename_table("request_log", "request_log_unpartitioned")
    op.execute("ALTER INDEX ix_request_log_project_id_created_at RENAME TO ix_request_log_unpartitioned")
    op.execute("ALTER TABLE request_log_unpartitioned RENAME CONSTRAINT pk_request_log TO pk_request_log_old")
    op.create_table(
        "request_log",
        *_request_log_columns(with_facts=True),
        sa.PrimaryKeyConstraint("id", "created_at", name="pk_request_log"),
        postgresql_partition_by="RANGE (created_at)",
    )
    op.create_index("ix_request_log_project_id_created_at", "request_log", ["project_id", "created_at"])
    today = datetime.now(UTC).date()
    oldest = conn.execute(sa.text("SELECT min(created_at) FROM request_log_unpartitioned")).scalar()
    first = min(oldest.astimezone(UTC).date(), today) if oldest is not None else today
    partitions.ensure(conn, first, today + timedelta(days=_DAYS_AHEAD))
    op.execute(
        f"INSERT INTO request_log ({_BASE_COLUMNS}) SELECT {_BASE_COLUMNS} FROM request_log_unpartitioned"
    )
    op.drop_table("request_log_unpartitioned")


def downgrade() -> None:
    conn = op.get_bind()
    op.drop_table("usage_daily")
    if conn.dialect.name == "postgresql":
        op.rename_table("request_log", "request_log_partitioned")
        op.execute("ALTER INDEX ix_request_log_project_id_created_at RENAME TO ix_request_log_partitioned")
        op.execute(
            "ALTER TABLE request_log_partitioned RENAME CONSTRAINT pk_request_log TO pk_request_log_new"
        )
        op.create_table(
            "request_log",
            *_request_log_columns(with_facts=False),
            sa.PrimaryKeyConstraint("id", name="pk_request_log"),
        )
        op.create_index("ix_request_log_project_id_created_at", "request_log", ["project_id", "created_at"])
        op.execute(
            f"INSERT INTO request_log ({_BASE_COLUMNS}) SELECT {_BASE_COLUMNS} FROM request_log_partitioned"
        )
        op.drop_table("request_log_partitioned")  # its partitions go with it
    else:
        _rebuild(["id"], with_facts=False)
    # Not a batch: on SQLite that would recreate projects, and the cascade would empty the tables that
    # refer to it. ALTER TABLE ... DROP COLUMN (SQLite 3.35+) keeps every row.
    op.execute("ALTER TABLE projects DROP COLUMN log_retention_days")
