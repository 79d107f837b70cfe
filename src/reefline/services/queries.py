"""Read-only verbs: list runs, show one, read or follow its logs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from reefline.engine.recovery import INTERRUPTED
from reefline.engine.states import TERMINAL_RUN_STATES, RunState
from reefline.services.project import open_project_db
from reefline.services.types import JobDetail, RunDetail
from reefline.store import repo
from reefline.store.rows import LogRow, RunRow

FOLLOW_POLL = 0.2


def status_of(run: RunRow) -> str:
    """The run's state, and `interrupted` for a run whose process died: `failed (interrupted)`."""
    if run.state == RunState.FAILED and (run.reason or "").startswith(INTERRUPTED):
        return f"{run.state} ({INTERRUPTED})"
    return run.state


def list_runs(project_dir: Path, limit: int = 50) -> list[RunRow]:
    db = open_project_db(project_dir)
    with db.connect() as conn:
        return repo.list_runs(conn, limit=limit, workspace=str(project_dir.resolve()))


def show_run(project_dir: Path, run_ref: str) -> RunDetail:
    db = open_project_db(project_dir)
    with db.connect() as conn:
        run = repo.get_run(conn, repo.resolve_run_ref(conn, run_ref, str(project_dir.resolve())))
        outputs = repo.list_outputs(conn, run.id)
        jobs = [
            JobDetail(
                job,
                repo.list_attempts(conn, job.id),
                outputs.get(job.id, []),
                repo.get_job(conn, job.cached_from_job_id).run_id if job.cached_from_job_id else None,
            )
            for job in repo.list_jobs(conn, run.id)
        ]
        return RunDetail(run, jobs, repo.list_metrics(conn, run.id))


def iter_logs(
    project_dir: Path, run_ref: str, job: str | None = None, follow: bool = False
) -> Iterator[tuple[str, LogRow]]:
    """Yield (job name, line) in order; with ``follow``, keep going until the run has finished."""
    db = open_project_db(project_dir)
    with db.connect() as conn:
        run_id = repo.resolve_run_ref(conn, run_ref, str(project_dir.resolve()))
        job_id = repo.get_job_by_name(conn, run_id, job).id if job else None
        names = {j.id: j.name for j in repo.list_jobs(conn, run_id)}
    after = 0
    while True:
        with db.connect() as conn:
            finished = RunState(repo.get_run(conn, run_id).state) in TERMINAL_RUN_STATES
            rows = repo.read_logs(conn, run_id, job_id=job_id, after_id=after)
        for row in rows:
            yield names.get(row.job_id, "?"), row
            after = row.id
        if rows:
            continue
        if not follow or finished:
            return
        time.sleep(FOLLOW_POLL)
