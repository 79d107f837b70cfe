"""State history and `interrupted` as a real state.

- ``state_changes``: every state change of a run or a job (from, to, time, reason, attempt).
- ``runs.owner_token`` (which process owns the run, so a reused pid is not taken for it) and
  ``runs.last_started_at`` (a retry's start; ``started_at`` stays the first start).
- Runs and jobs closed by the old recovery (``failed`` with a reason starting ``interrupted``)
  become ``interrupted``; so do their unfinished attempts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_PREFIX = "interrupted%"


def upgrade() -> None:
    op.create_table(
        "state_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("from_state", sa.String(16), nullable=True),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_state_changes"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_state_changes_run_id_runs", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name="fk_state_changes_job_id_jobs", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_state_changes_run", "state_changes", ["run_id", "id"])
    op.create_index("ix_state_changes_job_id", "state_changes", ["job_id"])
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("owner_token", sa.String(100), nullable=True))
        batch.add_column(sa.Column("last_started_at", sa.Float(), nullable=True))

    runs = sa.table("runs", sa.column("state", sa.String), sa.column("reason", sa.Text))
    jobs = sa.table("jobs", sa.column("state", sa.String), sa.column("reason", sa.Text))
    attempts = sa.table(
        "attempts", sa.column("state", sa.String), sa.column("error", sa.Text), sa.column("finished_at")
    )
    op.execute(
        runs.update()
        .where(runs.c.state == "failed", runs.c.reason.like(_OLD_PREFIX))
        .values(state="interrupted")
    )
    # The old recovery failed the jobs that were running and canceled the others.
    op.execute(
        jobs.update()
        .where(jobs.c.state == "failed", jobs.c.reason.like(_OLD_PREFIX))
        .values(state="interrupted")
    )
    op.execute(
        attempts.update()
        .where(attempts.c.state == "failed", attempts.c.error.like(_OLD_PREFIX))
        .values(state="interrupted")
    )


def downgrade() -> None:
    for table in ("runs", "jobs"):
        op.execute(f"UPDATE {table} SET state = 'failed' WHERE state = 'interrupted'")
    op.execute("UPDATE attempts SET state = 'failed' WHERE state = 'interrupted'")
    op.execute("UPDATE runs SET state = 'running' WHERE state = 'canceling'")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("last_started_at")
        batch.drop_column("owner_token")
    op.drop_index("ix_state_changes_job_id", "state_changes")
    op.drop_index("ix_state_changes_run", "state_changes")
    op.drop_table("state_changes")
