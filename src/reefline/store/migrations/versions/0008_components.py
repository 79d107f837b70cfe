"""The Python SDK's records (mltrace's shape): components, component runs, their inputs and outputs.

- ``components``: a component type (name unique per team, or per laptop database), its kind, owner
  and description.
- ``component_runs``: one call of a decorated function: status, exception, times, git state, host,
  pid, workspace, and the job attempt it ran inside (``job_id`` + ``attempt``; None outside a job).
- ``component_artifacts``: what a run read (``in``) and wrote (``out``), by path and sha256, and the
  output ids tagged with ``reefline.log_output``; indexed by sha256 and by output id (``label``).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "components",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=50), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_components_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_components")),
        sa.UniqueConstraint("scope", "name", name=op.f("uq_components_scope")),
    )
    op.create_index("ix_components_team_id", "components", ["team_id"], unique=False)
    op.create_table(
        "component_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("component_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("exception", sa.Text(), nullable=True),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("finished_at", sa.Float(), nullable=False),
        sa.Column("git_commit", sa.String(length=64), nullable=True),
        sa.Column("git_branch", sa.String(length=255), nullable=True),
        sa.Column("git_dirty", sa.Boolean(), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("workspace", sa.Text(), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["component_id"],
            ["components.id"],
            name=op.f("fk_component_runs_component_id_components"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_component_runs_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"],
            ["users.id"],
            name=op.f("fk_component_runs_recorded_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_component_runs")),
    )
    op.create_index("ix_component_runs_component_id", "component_runs", ["component_id", "id"], unique=False)
    op.create_index("ix_component_runs_job_id", "component_runs", ["job_id"], unique=False)
    op.create_table(
        "component_artifacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["component_runs.id"],
            name=op.f("fk_component_artifacts_run_id_component_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_component_artifacts")),
    )
    op.create_index(
        "ix_component_artifacts_sha256",
        "component_artifacts",
        ["sha256", "direction", "run_id"],
        unique=False,
    )
    op.create_index("ix_component_artifacts_label", "component_artifacts", ["label"], unique=False)
    op.create_index("ix_component_artifacts_run_id", "component_artifacts", ["run_id"], unique=False)


def downgrade() -> None:
    op.drop_table("component_artifacts")
    op.drop_table("component_runs")
    op.drop_table("components")
