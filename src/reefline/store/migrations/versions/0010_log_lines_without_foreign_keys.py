"""Log lines lose their foreign keys to ``runs`` and ``jobs``.

A foreign key is checked row by row: on PostgreSQL a lookup and a share lock on the referenced row
for every line. Of a 10 MB log's 50,000 inserts the two checks were 40% of the database's work.
Only the engine writes log lines, always for the job it runs, and runs and jobs are never deleted;
whatever deletes them one day (retention) deletes their log lines with them (see ``tables.py``).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEYS = (("fk_log_lines_run_id_runs", "run_id", "runs"), ("fk_log_lines_job_id_jobs", "job_id", "jobs"))


def upgrade() -> None:
    with op.batch_alter_table("log_lines") as batch:  # SQLite: one copy of the table
        for name, _, _ in _KEYS:
            batch.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("log_lines") as batch:
        for name, column, table in _KEYS:
            batch.create_foreign_key(name, table, [column], ["id"], ondelete="CASCADE")
