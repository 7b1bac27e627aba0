"""Request and response bodies, kept for the projects that opt in (``projects.log_bodies_days``); on
PostgreSQL partitioned by day from the start, like the request log.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

from byokgate.store import partitions
from byokgate.store.tables import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_DAYS_AHEAD = 7


def upgrade() -> None:
    conn = op.get_bind()
    op.add_column("projects", sa.Column("log_bodies_days", sa.Integer(), nullable=True))
    postgres = conn.dialect.name == "postgresql"
    partitioned: dict[str, Any] = {"postgresql_partition_by": "RANGE (created_at)"} if postgres else {}
    op.create_table(
        "request_bodies",
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("project_id", sa.String(40), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("truncated", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "created_at", name="pk_request_bodies"),
        **partitioned,
    )
    op.create_index("ix_request_bodies_project_id_created_at", "request_bodies", ["project_id", "created_at"])
    if postgres:
        today = datetime.now(UTC).date()
        partitions.ensure(conn, today, today + timedelta(days=_DAYS_AHEAD), partitions.BODIES)


def downgrade() -> None:
    op.drop_table("request_bodies")  # on PostgreSQL its partitions go with it
    # Not a batch: on SQLite that would recreate projects (and cascade). DROP COLUMN keeps every row.
    op.execute("ALTER TABLE projects DROP COLUMN log_bodies_days")
