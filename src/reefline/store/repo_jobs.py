"""Jobs and their attempts.

Every function takes an open connection and never commits: callers own the transaction.
Bulk functions send one ``executemany`` (a 1000-job plan costs a couple of round trips, not 1000).
Statements on the engine's hot path are built once at import (see ``_util.update_by_id``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, select

from reefline.store._util import ID_PARAM, check_columns, inserted_id, update_by_id
from reefline.store.errors import JobNotFound
from reefline.store.row_maker import row_maker
from reefline.store.rows import AttemptRow, JobRow
from reefline.store.tables import attempts, jobs

_INSERT_JOBS = jobs.insert()
_JOB_IDS = select(jobs.c.name, jobs.c.id).where(jobs.c.run_id == bindparam("run_id"))
_UPDATE_JOB = update_by_id(jobs)
_GET_JOB = select(jobs).where(jobs.c.id == bindparam("job_id"))
_LIST_JOBS = select(jobs).where(jobs.c.run_id == bindparam("run_id")).order_by(jobs.c.position, jobs.c.id)
_INSERT_ATTEMPT = attempts.insert()
_UPDATE_ATTEMPT = update_by_id(attempts)
_UPDATE_ATTEMPT_BY_NUMBER = attempts.update().where(
    attempts.c.job_id == bindparam("b_job_id"), attempts.c.number == bindparam("b_number")
)
_LIST_ATTEMPTS = select(attempts).where(attempts.c.job_id == bindparam("job_id")).order_by(attempts.c.number)
_RUN_ATTEMPTS = (
    select(attempts)
    .join(jobs, attempts.c.job_id == jobs.c.id)
    .where(jobs.c.run_id == bindparam("run_id"))
    .order_by(attempts.c.job_id, attempts.c.number)
)
_job_row = row_maker(JobRow, _LIST_JOBS)
_attempt_row = row_maker(AttemptRow, _RUN_ATTEMPTS)


def create_jobs(conn: Connection, run_id: int, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert a run's jobs (dicts with name, job, stage, position, matrix, needs, state, allow_failure).

    Returns name → id for every job of the run.
    """
    if rows:
        conn.execute(_INSERT_JOBS, [{**row, "run_id": run_id} for row in rows])
    return {name: job_id for name, job_id in conn.execute(_JOB_IDS, {"run_id": run_id}).tuples()}


def update_job(conn: Connection, job_id: int, **values: Any) -> None:
    """Set columns of a job; raises JobNotFound if there is no such job."""
    if not values:
        return
    check_columns(jobs, values)
    if conn.execute(_UPDATE_JOB, {**values, ID_PARAM: job_id}).rowcount == 0:
        raise JobNotFound(f"#{job_id}")


def update_jobs(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Bulk update: each dict has ``id`` plus the same set of columns to set (one executemany)."""
    if not rows or len(rows[0]) < 2:
        return
    check_columns(jobs, (key for key in rows[0] if key != "id"))
    params = []
    for row in rows:
        values = dict(row)
        values[ID_PARAM] = values.pop("id")
        params.append(values)
    conn.execute(_UPDATE_JOB, params)


def list_jobs(conn: Connection, run_id: int) -> list[JobRow]:
    """The run's jobs in plan order (position)."""
    return [_job_row(row) for row in conn.execute(_LIST_JOBS, {"run_id": run_id})]


def get_job(conn: Connection, job_id: int) -> JobRow:
    row = conn.execute(_GET_JOB, {"job_id": job_id}).first()
    if row is None:
        raise JobNotFound(f"#{job_id}")
    return JobRow(**row._mapping)


def get_job_by_name(conn: Connection, run_id: int, name: str) -> JobRow:
    """The job ``name`` of a run; JobNotFound lists the run's job names (and the closest one)."""
    row = conn.execute(select(jobs).where(jobs.c.run_id == run_id, jobs.c.name == name)).first()
    if row is None:
        names = conn.execute(
            select(jobs.c.name).where(jobs.c.run_id == run_id).order_by(jobs.c.position, jobs.c.id)
        ).scalars()
        raise JobNotFound(name, run_id=run_id, available=list(names))
    return JobRow(**row._mapping)


def create_attempt(conn: Connection, job_id: int, number: int, state: str, started_at: float | None) -> int:
    params = {"job_id": job_id, "number": number, "state": state, "started_at": started_at}
    return inserted_id(conn.execute(_INSERT_ATTEMPT, params))


def create_attempts(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Bulk insert (one executemany): each dict has job_id, number, state, started_at."""
    if rows:
        conn.execute(_INSERT_ATTEMPT, rows)


def update_attempts(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Bulk update by (job_id, number): each dict has those two plus the same set of columns to set."""
    if not rows:
        return
    check_columns(attempts, (key for key in rows[0] if key not in ("job_id", "number")))
    params = []
    for row in rows:
        values = dict(row)
        values["b_job_id"] = values.pop("job_id")
        values["b_number"] = values.pop("number")
        params.append(values)
    conn.execute(_UPDATE_ATTEMPT_BY_NUMBER, params)


def update_attempt(conn: Connection, attempt_id: int, **values: Any) -> None:
    if not values:
        return
    check_columns(attempts, values)
    conn.execute(_UPDATE_ATTEMPT, {**values, ID_PARAM: attempt_id})


def list_attempts(conn: Connection, job_id: int) -> list[AttemptRow]:
    return [AttemptRow(**row._mapping) for row in conn.execute(_LIST_ATTEMPTS, {"job_id": job_id})]


def list_run_attempts(conn: Connection, run_id: int) -> dict[int, list[AttemptRow]]:
    """Every attempt of a run's jobs in one query, by job id, in attempt order."""
    found: dict[int, list[AttemptRow]] = {}
    for row in conn.execute(_RUN_ATTEMPTS, {"run_id": run_id}):
        attempt = _attempt_row(row)
        found.setdefault(attempt.job_id, []).append(attempt)
    return found


def runs_of_jobs(conn: Connection, job_ids: set[int]) -> dict[int, int]:
    """The run of each of ``job_ids`` (one query)."""
    if not job_ids:
        return {}
    query = select(jobs.c.id, jobs.c.run_id).where(jobs.c.id.in_(sorted(job_ids)))
    return {int(job_id): int(run_id) for job_id, run_id in conn.execute(query)}
