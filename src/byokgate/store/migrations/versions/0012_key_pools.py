"""Key pools: several keys per provider per project, each with a name, a weight and a state. Today's one
key per provider becomes the key named "default" of its pool (weight 1, active): nothing is lost.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("provider_credentials") as batch:
        batch.add_column(sa.Column("name", sa.String(64), nullable=False, server_default="default"))
        batch.add_column(sa.Column("weight", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("state", sa.String(16), nullable=False, server_default="active"))
        batch.drop_constraint("uq_provider_credentials_project_id_provider", type_="unique")
        batch.create_unique_constraint(
            "uq_provider_credentials_project_id_provider_name", ["project_id", "provider", "name"]
        )


def downgrade() -> None:
    # Back to one key per provider: the pool's "default" key stays (or, without one, its first by name).
    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT id, project_id, provider, name FROM provider_credentials ORDER BY name")
    ).fetchall()
    keep: dict[tuple[str, str], str] = {}
    for row in rows:
        pool = (row.project_id, row.provider)
        if row.name == "default" or pool not in keep:
            keep[pool] = row.id
    for row in rows:
        if keep[(row.project_id, row.provider)] != row.id:
            conn.execute(sa.text("DELETE FROM provider_credentials WHERE id = :id"), {"id": row.id})
    with op.batch_alter_table("provider_credentials") as batch:
        batch.drop_constraint("uq_provider_credentials_project_id_provider_name", type_="unique")
        batch.create_unique_constraint(
            "uq_provider_credentials_project_id_provider", ["project_id", "provider"]
        )
        batch.drop_column("state")
        batch.drop_column("weight")
        batch.drop_column("name")
