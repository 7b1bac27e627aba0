"""Per-project semantic-cache settings.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("project_cache_settings") as batch:
        batch.add_column(sa.Column("semantic", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(
            sa.Column("semantic_threshold", sa.Float(), nullable=False, server_default=sa.text("0.95"))
        )
        batch.add_column(
            sa.Column("semantic_max_turns", sa.Integer(), nullable=False, server_default=sa.text("3"))
        )
        batch.add_column(sa.Column("semantic_model", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("project_cache_settings") as batch:
        for column in ("semantic_model", "semantic_max_turns", "semantic_threshold", "semantic"):
            batch.drop_column(column)
