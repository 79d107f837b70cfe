"""Log lines get ``seq``, their number within their attempt, unique per (job, attempt).

Lines written before this revision get ``seq = id``: one engine wrote each attempt's lines in
order, so that order is theirs; numbering starts over only for lines written from now on, in new
attempts (an attempt begun before continues above its highest number).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("log_lines") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
    op.execute("UPDATE log_lines SET seq = id")
    with op.batch_alter_table("log_lines") as batch:
        batch.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)
    op.create_index("ux_log_lines_seq", "log_lines", ["job_id", "attempt", "seq"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_log_lines_seq", "log_lines")
    with op.batch_alter_table("log_lines") as batch:
        batch.drop_column("seq")
