"""The batch writer's journal: the names of the segments whose entries are in the database, so that a
segment a crash left behind is replayed exactly once.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from byokgate.store.tables import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "journal_segments",
        sa.Column("name", sa.String(96), primary_key=True),
        sa.Column("stored_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("journal_segments")
