"""Provider keys carry non-secret fields (e.g. an Azure OpenAI resource endpoint, API version and
deployments), stored beside the ciphertext as JSON.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("provider_credentials") as batch:
        batch.add_column(sa.Column("fields", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("provider_credentials") as batch:
        batch.drop_column("fields")
