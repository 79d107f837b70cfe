"""Runs whose process died (kill -9, power loss) are closed as interrupted, never left running;
runs whose engine host died are taken over by another host and continue (:func:`take_over`).

Only writers (``reefline run``, ``reefline retry``, an engine host) recover; readers show such a
run as interrupted without writing (:func:`reefline.engine.liveness.shown_state`).
Every state written here goes through the transition table and into the state history.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from reefline.engine.liveness import Liveness
from reefline.engine.states import (
    ACTIVE_RUN_STATES,
    TERMINAL_JOB_STATES,
    JobState,
    RunState,
    check_job_transition,
    check_run_transition,
)
from reefline.executors.procscan import PROC, kill_marked
from reefline.store import repo
from reefline.store.rows import RunRow
from reefline.store.tables import runs as runs_table


def kill_leftovers(run_id: int, workspace: str, proc: Path = PROC) -> list[int]:
    """Kill the job processes an interrupted run left behind on this host; returns their pids.

    Every job gets ``REEFLINE_RUN_ID`` and ``REEFLINE_WORKSPACE`` in its environment and passes
    them on to whatever it starts, so they find the whole tree without the dead engine's help.
    """
    return kill_marked({"REEFLINE_RUN_ID": str(run_id), "REEFLINE_WORKSPACE": workspace}, proc)


def recover_interrupted(db: sa.Engine, liveness: Liveness | None = None) -> list[int]:
    """Close every run whose owner is gone as interrupted; returns their ids."""
    liveness = liveness or Liveness()
    with db.connect() as conn:
        candidates = repo.find_interrupted_runs(conn, is_gone=liveness.owner_gone)
    closed = [run for run in candidates if close_interrupted(db, run, liveness)]
    for run in closed:
        if run.owner_host == liveness.host:
            kill_leftovers(run.id, run.workspace)
    return [run.id for run in closed]


def close_interrupted(db: sa.Engine, run: RunRow, liveness: Liveness) -> bool:
    """Mark ``run`` and its unfinished jobs interrupted in one transaction; False if it ended meanwhile."""
    now = liveness.now
    reason = f"interrupted: {liveness.describe(run)}"
    check_run_transition(run.id, RunState(run.state), RunState.INTERRUPTED)
    with db.begin() as conn:
        # The first write of the transaction, conditional: it takes the write lock, and a run that
        # ended (or was recovered by another writer) since it was read is left alone.
        updated = conn.execute(
            runs_table.update()
            .where(runs_table.c.id == run.id, runs_table.c.state.in_([str(s) for s in ACTIVE_RUN_STATES]))
            .values(state=str(RunState.INTERRUPTED), reason=reason, finished_at=now)
        ).rowcount
        if not updated:
            return False
        changes = [repo.state_change(run.id, None, run.state, RunState.INTERRUPTED, now, reason=reason)]
        for job in repo.list_jobs(conn, run.id):
            current = JobState(job.state)
            if current in TERMINAL_JOB_STATES:
                continue
            # A job that was running is interrupted; one that never started is canceled.
            new = JobState.INTERRUPTED if current is JobState.RUNNING else JobState.CANCELED
            check_job_transition(job.name, current, new)
            repo.update_job(conn, job.id, state=str(new), reason=reason, finished_at=now)
            changes.append(
                repo.state_change(run.id, job.id, current, new, now, reason=reason, attempt=job.attempts)
            )
            for attempt in repo.list_attempts(conn, job.id):
                if attempt.finished_at is None:
                    repo.update_attempt(
                        conn, attempt.id, state=str(JobState.INTERRUPTED), error=reason, finished_at=now
                    )
        repo.insert_state_changes(conn, changes)
    return True


@dataclass(frozen=True)
class TakenOver:
    """What a run taken over from a dead engine host continues with (see :func:`take_over`)."""

    states: dict[str, JobState]
    attempts: dict[str, int]
    bases: dict[str, int]  # attempts made before the current retry budget began
    job_ids: dict[str, int]
    closed: bool  # the run was canceling: it is closed as canceled, nothing is left to run


def retry_bases(conn: sa.Connection, run_id: int) -> dict[int, int]:
    """Per job id, its attempt count when its latest retry (``reefline retry``) began; 0 if none."""
    bases: dict[int, int] = {}
    for change in repo.list_state_changes(conn, run_id):
        if change.job_id is not None and change.to_state == JobState.PENDING and change.reason == "retry":
            bases[change.job_id] = change.attempt or 0
    return bases


def take_over(
    conn: sa.Connection, run: RunRow, retries: Mapping[str, int], *, reason: str, now: float
) -> TakenOver:
    """Continue ``run`` (leased to this host now) where its dead engine left it, in ``conn``'s transaction.

    Successful, cached and otherwise finished jobs are kept. A job that was running loses that
    attempt (``interrupted``) and goes back to ``queued`` for a new one if ``retries`` (its
    ``retry.max`` by step id) allow, else ends ``interrupted``. A run that was canceling is closed
    as canceled. Kill the old job processes first (:func:`kill_leftovers`).
    """
    bases = retry_bases(conn, run.id)
    rows = repo.list_jobs(conn, run.id)
    closing = RunState(run.state) is RunState.CANCELING
    changes = []
    states: dict[str, JobState] = {}
    attempts: dict[str, int] = {}
    for job in rows:
        current = JobState(job.state)
        new = current
        if current is JobState.RUNNING or (closing and current not in TERMINAL_JOB_STATES):
            for attempt in repo.list_attempts(conn, job.id):
                if attempt.finished_at is None:
                    repo.update_attempt(
                        conn, attempt.id, state=str(JobState.INTERRUPTED), error=reason, finished_at=now
                    )
        if closing and current not in TERMINAL_JOB_STATES:
            new = JobState.CANCELED
        elif current is JobState.RUNNING:
            allowed = job.attempts - bases.get(job.id, 0) <= retries.get(job.name, 0)
            new = JobState.QUEUED if allowed else JobState.INTERRUPTED
        if new is not current:
            check_job_transition(job.name, current, new)
            why = reason if new is not JobState.QUEUED else f"{reason}; attempt {job.attempts + 1} is due"
            values: dict[str, object] = {"state": str(new), "reason": why}
            if new in TERMINAL_JOB_STATES:
                values["finished_at"] = now
            repo.update_job(conn, job.id, **values)
            changes.append(
                repo.state_change(run.id, job.id, current, new, now, reason=why, attempt=job.attempts)
            )
        states[job.name], attempts[job.name] = new, job.attempts
    if closing:
        check_run_transition(run.id, RunState.CANCELING, RunState.CANCELED)
        repo.update_run(
            conn, run.id, state=str(RunState.CANCELED), reason=run.reason or reason, finished_at=now
        )
        changes.append(repo.state_change(run.id, None, run.state, RunState.CANCELED, now, reason=reason))
    repo.insert_state_changes(conn, changes)
    return TakenOver(
        states,
        attempts,
        {job.name: bases.get(job.id, 0) for job in rows},
        {job.name: job.id for job in rows},
        closing,
    )
