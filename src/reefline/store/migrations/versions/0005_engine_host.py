"""The engine host: a lease on each run it claims, and named leases (one engine leader per database).

- ``runs`` get ``lease_owner`` (the engine host holding the run) and ``lease_expires_at``; a run
  whose lease expired is taken over by another host (engine/host.py).
- ``engine_leases``: one row per named lease, e.g. ``leader``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "engine_leases",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_engine_leases")),
    )
    # Plain ADD COLUMNs (no table copy on SQLite): nullable, no constraint.
    op.add_column("runs", sa.Column("lease_owner", sa.String(length=200), nullable=True))
    op.add_column("runs", sa.Column("lease_expires_at", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("lease_owner")
    op.drop_table("engine_leases")
