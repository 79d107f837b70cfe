"""The state history: every state change of a run or a job, appended, never updated.

Writers append in the transaction that makes the change (the journal, recovery, retry); readers
(``reefline show``, the server's run timeline) list it in order.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, select

from reefline.store.row_maker import columns_in_order, row_maker
from reefline.store.rows import StateChangeRow
from reefline.store.tables import jobs, state_changes

_INSERT = state_changes.insert()
_LIST = (
    select(*columns_in_order(StateChangeRow, state_changes.c, job_name=jobs.c.name))
    .select_from(state_changes.outerjoin(jobs, state_changes.c.job_id == jobs.c.id))
    .where(state_changes.c.run_id == bindparam("run_id"))
    .order_by(state_changes.c.id)
)
_AFTER = _LIST.where(state_changes.c.id > bindparam("after_id")).limit(bindparam("limit"))
_state_change_row = row_maker(StateChangeRow, _LIST)


def state_change(
    run_id: int,
    job_id: int | None,
    from_state: str | None,
    to_state: str,
    at: float,
    *,
    reason: str | None = None,
    attempt: int | None = None,
) -> dict[str, Any]:
    """One row for :func:`insert_state_changes`."""
    return {
        "run_id": run_id,
        "job_id": job_id,
        "from_state": None if from_state is None else str(from_state),
        "to_state": str(to_state),
        "at": at,
        "reason": reason,
        "attempt": attempt,
    }


def insert_state_changes(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Append changes (dicts from :func:`state_change`) in one executemany."""
    if rows:
        conn.execute(_INSERT, rows)


def list_state_changes(conn: Connection, run_id: int) -> list[StateChangeRow]:
    """The run's history, oldest first: its own changes (job_id None) and its jobs'."""
    return [_state_change_row(row) for row in conn.execute(_LIST, {"run_id": run_id})]


def state_changes_after(
    conn: Connection, run_id: int, after_id: int, limit: int = 1000
) -> list[StateChangeRow]:
    """The run's changes with id above ``after_id``, oldest first (a follower's next page).

    One run's changes are written by one engine at a time, in order, so ids commit in order.
    """
    params = {"run_id": run_id, "after_id": after_id, "limit": limit}
    return [_state_change_row(row) for row in conn.execute(_AFTER, params)]
