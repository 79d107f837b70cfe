"""Log lines: appended in batches by the engine, read (and followed) by the CLI and the UI.

Functions take an open connection and never commit: callers own the transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, select

from reefline.store.rows import LogRow
from reefline.store.tables import log_lines

_INSERT_LINES = log_lines.insert()
_RUN_LINES = (
    select(log_lines)
    .where(log_lines.c.run_id == bindparam("run_id"), log_lines.c.id > bindparam("after_id"))
    .order_by(log_lines.c.id)
    .limit(bindparam("limit"))
)
_JOB_LINES = (
    select(log_lines)
    .where(
        log_lines.c.run_id == bindparam("run_id"),
        log_lines.c.job_id == bindparam("job_id"),
        log_lines.c.id > bindparam("after_id"),
    )
    .order_by(log_lines.c.id)
    .limit(bindparam("limit"))
)


def insert_log_lines(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Append lines (dicts with run_id, job_id, attempt, ts, stream, text) in one executemany."""
    if rows:
        conn.execute(_INSERT_LINES, rows)


def read_logs(
    conn: Connection, run_id: int, *, job_id: int | None = None, after_id: int = 0, limit: int = 1000
) -> list[LogRow]:
    """Up to ``limit`` lines of a run (or one of its jobs) with id > ``after_id``, oldest first.

    To follow a log, call again with ``after_id`` = the last id returned.
    """
    params = {"run_id": run_id, "after_id": after_id, "limit": limit}
    if job_id is None:
        result = conn.execute(_RUN_LINES, params)
    else:
        result = conn.execute(_JOB_LINES, {**params, "job_id": job_id})
    return [LogRow(**row._mapping) for row in result]
