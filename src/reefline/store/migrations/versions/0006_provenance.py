"""Run provenance and lineage lookups.

- ``runs`` get ``git_commit``, ``git_branch`` and ``git_dirty`` of the workspace the run ran in.
- ``jobs`` get ``definition_hash``: the step's definition (the cache key's definition part), so a
  trace can tell that a job's definition changed in a later run.
- ``inputs.sha256`` is indexed: what read these bytes (``reefline trace --forward``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs (no table copy on SQLite): nullable, no constraint.
    op.add_column("runs", sa.Column("git_commit", sa.String(length=64), nullable=True))
    op.add_column("runs", sa.Column("git_branch", sa.String(length=255), nullable=True))
    op.add_column("runs", sa.Column("git_dirty", sa.Boolean(), nullable=True))
    op.add_column("jobs", sa.Column("definition_hash", sa.String(length=64), nullable=True))
    op.create_index("ix_inputs_sha256", "inputs", ["sha256"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_inputs_sha256", table_name="inputs")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("definition_hash")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("git_dirty")
        batch_op.drop_column("git_branch")
        batch_op.drop_column("git_commit")
