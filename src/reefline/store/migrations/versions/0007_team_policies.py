"""A team's allow-list of container images and executors.

- ``team_policies``: one row per team that set its policy; a team without a row has the
  server's default (deny: no image, only the sandboxed ``local`` executor).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "team_policies",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("images", sa.JSON(), nullable=False),
        sa.Column("executors", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_team_policies_team_id_teams"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name=op.f("fk_team_policies_updated_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_team_policies")),
    )


def downgrade() -> None:
    op.drop_table("team_policies")
