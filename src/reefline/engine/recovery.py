"""Runs whose process died (kill -9, power loss) are closed as failed, never left running."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import sqlalchemy as sa

from reefline.engine.states import TERMINAL_JOB_STATES, JobState, RunState
from reefline.store import repo

INTERRUPTED = "interrupted"
"""The first word of the reason of a run closed by recovery."""

STALE_AFTER = 30.0
"""Seconds without a heartbeat after which a run on another host counts as interrupted."""


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def kill_leftovers(run_id: int, workspace: str, proc: Path = Path("/proc")) -> list[int]:
    """Kill the job processes an interrupted run left behind on this host; returns their pids.

    Every job gets ``REEFLINE_RUN_ID`` and ``REEFLINE_WORKSPACE`` in its environment and passes
    them on to whatever it starts, so they find the whole tree without the dead engine's help.
    """
    wanted = {b"REEFLINE_RUN_ID=" + str(run_id).encode(), b"REEFLINE_WORKSPACE=" + workspace.encode()}
    killed = []
    for entry in proc.glob("[0-9]*"):
        try:
            environ = set((entry / "environ").read_bytes().split(b"\0"))
        except OSError:  # gone, or not ours to read
            continue
        if wanted <= environ:
            try:
                os.kill(int(entry.name), signal.SIGKILL)
                killed.append(int(entry.name))
            except ProcessLookupError:
                continue
    return killed


def recover_interrupted(db: sa.Engine, *, now: float | None = None) -> list[int]:
    """Mark every run whose owner is gone as failed; returns their ids."""
    now = time.time() if now is None else now
    host = socket.gethostname()
    with db.begin() as conn:
        runs = repo.find_interrupted_runs(
            conn, host=host, is_alive=pid_alive, now=now, stale_after=STALE_AFTER
        )
        for run in runs:
            reason = f"{INTERRUPTED}: the reefline process (pid {run.owner_pid} on {run.owner_host}) ended"
            for job in repo.list_jobs(conn, run.id):
                if JobState(job.state) in TERMINAL_JOB_STATES:
                    continue
                started = JobState(job.state) is JobState.RUNNING
                repo.update_job(
                    conn,
                    job.id,
                    state=str(JobState.FAILED if started else JobState.CANCELED),
                    reason=reason,
                    finished_at=now,
                )
                for attempt in repo.list_attempts(conn, job.id):
                    if attempt.finished_at is None:
                        repo.update_attempt(
                            conn, attempt.id, state=str(JobState.FAILED), error=reason, finished_at=now
                        )
            repo.update_run(conn, run.id, state=str(RunState.FAILED), reason=reason, finished_at=now)
    for run in runs:
        if run.owner_host == host:
            kill_leftovers(run.id, run.workspace)
    return [run.id for run in runs]
