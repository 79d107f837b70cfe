"""Job and run states, their groups, and the one table of allowed transitions.

The only vocabulary of states: the store, the engine and the CLI import their names from here.
Nothing writes a state without :func:`check_job_transition` / :func:`check_run_transition`.
Kept free of heavy imports so the CLI can import it cheaply.
"""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELED = "canceled"
    SKIPPED = "skipped"
    CACHED = "cached"
    INTERRUPTED = "interrupted"  # it was running when the run's process died


class RunState(StrEnum):
    QUEUED = "queued"  # recorded, waiting for an engine host to claim it (a server run, a retry request)
    PENDING = "pending"  # recorded by the process that will run it (a laptop run), about to start
    RUNNING = "running"
    CANCELING = "canceling"  # a cancel was decided; the jobs are being stopped
    SUCCESS = "success"
    FAILED = "failed"
    CANCELED = "canceled"
    INTERRUPTED = "interrupted"  # the run's process died (kill -9, power loss) before it ended


TERMINAL_JOB_STATES = frozenset(
    {
        JobState.SUCCESS,
        JobState.FAILED,
        JobState.CANCELED,
        JobState.SKIPPED,
        JobState.CACHED,
        JobState.INTERRUPTED,
    }
)
SUCCESSFUL_JOB_STATES = frozenset({JobState.SUCCESS, JobState.CACHED})
TERMINAL_RUN_STATES = frozenset({RunState.SUCCESS, RunState.FAILED, RunState.CANCELED, RunState.INTERRUPTED})
ACTIVE_RUN_STATES = frozenset({RunState.QUEUED, RunState.PENDING, RunState.RUNNING, RunState.CANCELING})
"""Runs an engine is (or should be) working on: the complement of TERMINAL_RUN_STATES."""

_JOB_TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.PENDING: frozenset(
        {JobState.QUEUED, JobState.SKIPPED, JobState.CACHED, JobState.CANCELED, JobState.FAILED}
    ),
    # queued -> cached: the cache lookup runs while the job waits for a slot.
    JobState.QUEUED: frozenset({JobState.RUNNING, JobState.CACHED, JobState.CANCELED, JobState.FAILED}),
    # running -> queued is a retry: the attempt failed and another one is due.
    JobState.RUNNING: frozenset(
        {JobState.SUCCESS, JobState.FAILED, JobState.CANCELED, JobState.QUEUED, JobState.INTERRUPTED}
    ),
    # `reefline retry` puts unsuccessful jobs back to pending.
    JobState.FAILED: frozenset({JobState.PENDING}),
    JobState.CANCELED: frozenset({JobState.PENDING}),
    JobState.SKIPPED: frozenset({JobState.PENDING}),
    JobState.INTERRUPTED: frozenset({JobState.PENDING}),
    JobState.SUCCESS: frozenset(),
    JobState.CACHED: frozenset(),
}

_RUN_TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    # A queued run is started by the engine host that claimed it, or canceled before it started.
    RunState.QUEUED: frozenset({RunState.RUNNING, RunState.CANCELED}),
    RunState.PENDING: frozenset({RunState.RUNNING, RunState.CANCELED, RunState.FAILED, RunState.INTERRUPTED}),
    RunState.RUNNING: frozenset(
        {RunState.SUCCESS, RunState.FAILED, RunState.CANCELING, RunState.CANCELED, RunState.INTERRUPTED}
    ),
    # A cancel ends canceled, unless the process dies first (or the journal fails: failed).
    RunState.CANCELING: frozenset({RunState.CANCELED, RunState.FAILED, RunState.INTERRUPTED}),
    # A retry runs an unsuccessful run again: at once on a laptop, queued for an engine on a server.
    RunState.FAILED: frozenset({RunState.RUNNING, RunState.QUEUED}),
    RunState.CANCELED: frozenset({RunState.RUNNING, RunState.QUEUED}),
    RunState.INTERRUPTED: frozenset({RunState.RUNNING, RunState.QUEUED}),
    RunState.SUCCESS: frozenset(),
}


class InvalidTransition(Exception):
    """A refused state change; the message says why."""


def check_job_transition(job: str, current: JobState, new: JobState) -> None:
    if new not in _JOB_TRANSITIONS[current]:
        raise InvalidTransition(f"job {job!r} cannot go from {current} to {new}")


def check_run_transition(run_id: int, current: RunState, new: RunState) -> None:
    if new not in _RUN_TRANSITIONS[current]:
        raise InvalidTransition(f"run {run_id} cannot go from {current} to {new}")
