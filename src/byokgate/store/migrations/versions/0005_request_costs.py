"""What each logged request cost: cached prompt tokens, list-price cost and cache savings (micro-USD).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("request_log") as batch:
        batch.add_column(sa.Column("cached_tokens", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("cost_micro_usd", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("cost_saved_micro_usd", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("request_log") as batch:
        for column in ("cost_saved_micro_usd", "cost_micro_usd", "cached_tokens"):
            batch.drop_column(column)
