"""Read-only verbs: list runs, show one, read or follow its logs. They never write.

A run whose owner process is gone is shown as ``interrupted`` (computed on read, with its running
jobs interrupted and its waiting ones canceled); the next writer records it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import sqlalchemy as sa

from reefline.engine.liveness import Liveness, shown_state
from reefline.engine.states import ACTIVE_RUN_STATES, TERMINAL_JOB_STATES, JobState, RunState
from reefline.services.project import NoRunsHere, open_reader_db
from reefline.services.types import JobDetail, RunDetail
from reefline.store import repo, repo_jobs, repo_logs
from reefline.store.errors import JobNotFound, RunNotFound
from reefline.store.rows import JobRow, LogRow, RunRow

FOLLOW_POLL = 0.2
PAGE = 1000  # lines read per query
NO_RUNS = "no runs yet: start one with `reefline run`"


def status_of(run: RunRow) -> str:
    """The run's state as shown (readers pass runs through :func:`as_shown` first)."""
    return str(run.state)


def as_shown(run: RunRow, liveness: Liveness | None = None) -> RunRow:
    """``run``, or a copy of it in state ``interrupted`` when it is unfinished and its owner is gone."""
    liveness = liveness or Liveness()
    if shown_state(run, liveness) is RunState(run.state):
        return run
    reason = f"interrupted: {liveness.describe(run)}"
    # It ended, at the latest, at its last sign of life: durations stop growing.
    return dataclasses.replace(
        run, state=str(RunState.INTERRUPTED), reason=reason, finished_at=run.heartbeat_at or run.created_at
    )


def _job_as_shown(job: JobRow, run: RunRow) -> JobRow:
    state = JobState(job.state)
    if state in TERMINAL_JOB_STATES:
        return job
    new = JobState.INTERRUPTED if state is JobState.RUNNING else JobState.CANCELED
    finished = run.finished_at if job.started_at is not None else None
    return dataclasses.replace(job, state=str(new), reason=run.reason, finished_at=finished)


def list_runs(project_dir: Path, limit: int = 50) -> list[RunRow]:
    try:
        db = open_reader_db(project_dir)
    except NoRunsHere:
        if project_dir.is_dir():
            return []  # a project that has not run yet
        raise
    liveness = Liveness()
    with db.connect() as conn:
        rows = repo.list_runs(conn, limit=limit, workspace=str(project_dir.resolve()))
    return [as_shown(row, liveness) for row in rows]


def _open(project_dir: Path, run_ref: str) -> sa.Engine:
    try:
        return open_reader_db(project_dir)
    except NoRunsHere as exc:
        if project_dir.is_dir():
            raise RunNotFound(run_ref, NO_RUNS) from exc
        raise


def show_run(project_dir: Path, run_ref: str) -> RunDetail:
    db = _open(project_dir, run_ref)
    with db.connect() as conn:
        return run_detail(conn, repo.resolve_run_ref(conn, run_ref, str(project_dir.resolve())))


def run_detail(conn: sa.Connection, run_id: int) -> RunDetail:
    """A run with its jobs, attempts, outputs, metrics and state history, as shown to a reader."""
    stored = repo.get_run(conn, run_id)
    run = as_shown(stored)
    outputs = repo.list_outputs(conn, run.id)
    rows = repo.list_jobs(conn, run.id)
    attempts = repo_jobs.list_run_attempts(conn, run.id)
    origins = repo_jobs.runs_of_jobs(conn, {j.cached_from_job_id for j in rows if j.cached_from_job_id})
    jobs = [
        JobDetail(
            job if run is stored else _job_as_shown(job, run),
            attempts.get(job.id, []),
            outputs.get(job.id, []),
            origins.get(job.cached_from_job_id) if job.cached_from_job_id else None,
        )
        for job in rows
    ]
    return RunDetail(run, jobs, repo.list_metrics(conn, run.id), repo.list_state_changes(conn, run.id))


def log_jobs(jobs: list[JobRow], run_id: int, name: str) -> set[int]:
    """The jobs a name selects: the job of that name, or every expansion of a matrix job."""
    exact = [j.id for j in jobs if j.name == name]
    if exact:
        return set(exact)
    expansions = {j.id for j in jobs if j.job == name}
    if expansions:
        return expansions
    matrix_jobs = [j.job for j in jobs if j.job != j.name]
    raise JobNotFound(
        name, run_id=run_id, available=list(dict.fromkeys(matrix_jobs + [j.name for j in jobs]))
    )


def iter_logs(
    project_dir: Path,
    run_ref: str,
    job: str | None = None,
    follow: bool = False,
    notice: Callable[[str], None] | None = None,
) -> Iterator[tuple[str, LogRow]]:
    """Yield (job name, line) in order; with ``follow``, keep going until the run has finished.

    ``job`` is a job name, or a matrix job's key (every expansion). Following stops when the run
    ends, or when its owner process is gone: then ``notice`` gets a sentence saying so.
    """
    db = _open(project_dir, run_ref)
    with db.connect() as conn:
        run_id = repo.resolve_run_ref(conn, run_ref, str(project_dir.resolve()))
        jobs = repo.list_jobs(conn, run_id)
    names = {j.id: j.name for j in jobs}
    wanted = log_jobs(jobs, run_id, job) if job else None
    if wanted is not None and len(wanted) == 1:
        lines = _job_lines(db, next(iter(wanted)))
    else:
        lines = repo_logs.RunLogCursor(run_id).scan
    while True:
        with db.connect() as conn:  # before the lines: a run seen ended has all its lines stored
            run = repo.get_run(conn, run_id)
        for row in lines(db):
            if wanted is None or row.job_id in wanted:
                yield names.get(row.job_id, "?"), row
        state = RunState(run.state)
        if not follow or state not in ACTIVE_RUN_STATES:
            return
        liveness = Liveness()
        if liveness.owner_gone(run):
            if notice is not None:
                notice(f"{liveness.describe(run)}; the run is interrupted")
            return
        time.sleep(FOLLOW_POLL)


def _job_lines(db: sa.Engine, job_id: int) -> Callable[[sa.Engine], Iterator[LogRow]]:
    """One job's lines by (attempt, seq): a line that commits late still comes in its place."""
    cursor = (0, -1)

    def scan(db: sa.Engine) -> Iterator[LogRow]:
        nonlocal cursor
        while True:
            with db.connect() as conn:
                rows = repo_logs.read_job_logs(conn, job_id, after=cursor, limit=PAGE)
            for row in rows:
                cursor = (row.attempt, row.seq)
                yield row
            if len(rows) < PAGE:
                return

    return scan
