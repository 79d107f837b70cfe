"""Output records per attempt, and each attempt's code fingerprint.

- ``outputs`` gain ``attempt`` (the attempt that made the bytes; a cached job's rows: the attempt of
  the job it was cached from), ``uri`` (where the artifact store keeps them; None: not kept) and
  ``recorded_at``. Unique becomes (job_id, attempt, name, path). Old rows are backfilled: attempt =
  the job's attempts (a cached job's: its original's), or 1; recorded_at = when the job finished
  (else started, else when its run was created).
- ``attempts`` gain ``code`` (JSON): the script's sha256, or a ``run:`` entry and the sha256 of each
  workspace module it imports, and the image id of a container step when known.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One correlated lookup per column, valid on SQLite and PostgreSQL alike.
_BACKFILL = """
UPDATE outputs SET
    attempt = COALESCE(
        (SELECT NULLIF(COALESCE(o.attempts, j.attempts), 0)
           FROM jobs j LEFT JOIN jobs o ON o.id = j.cached_from_job_id AND j.state = 'cached'
          WHERE j.id = outputs.job_id),
        1),
    recorded_at = COALESCE(
        (SELECT COALESCE(j.finished_at, j.started_at, r.created_at)
           FROM jobs j JOIN runs r ON r.id = j.run_id
          WHERE j.id = outputs.job_id),
        0)
"""


def upgrade() -> None:
    op.add_column("attempts", sa.Column("code", sa.JSON(), nullable=True))
    op.add_column("outputs", sa.Column("attempt", sa.Integer(), nullable=True))
    op.add_column("outputs", sa.Column("uri", sa.Text(), nullable=True))
    op.add_column("outputs", sa.Column("recorded_at", sa.Float(), nullable=True))
    op.execute(_BACKFILL)
    # SQLite: one copy of the table for the NOT NULLs and the new unique constraint.
    with op.batch_alter_table("outputs", schema=None) as batch_op:
        batch_op.alter_column("attempt", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("recorded_at", existing_type=sa.Float(), nullable=False)
        batch_op.drop_constraint("uq_outputs_job_id", type_="unique")
        batch_op.create_unique_constraint("uq_outputs_job_id", ["job_id", "attempt", "name", "path"])


def downgrade() -> None:
    # Only the newest attempt's row of each (job, name, path) fits the old unique constraint.
    op.execute(
        "DELETE FROM outputs WHERE EXISTS (SELECT 1 FROM outputs AS newer WHERE newer.job_id ="
        " outputs.job_id AND newer.name = outputs.name AND newer.path = outputs.path AND newer.attempt >"
        " outputs.attempt)"
    )
    with op.batch_alter_table("outputs", schema=None) as batch_op:
        batch_op.drop_constraint("uq_outputs_job_id", type_="unique")
        batch_op.create_unique_constraint("uq_outputs_job_id", ["job_id", "name", "path"])
        batch_op.drop_column("recorded_at")
        batch_op.drop_column("uri")
        batch_op.drop_column("attempt")
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_column("code")
