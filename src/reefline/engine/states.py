"""Job and run states, and the one table of allowed transitions.

Nothing writes a state without :func:`check_job_transition` / :func:`check_run_transition`.
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


class RunState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELED = "canceled"


TERMINAL_JOB_STATES = frozenset(
    {JobState.SUCCESS, JobState.FAILED, JobState.CANCELED, JobState.SKIPPED, JobState.CACHED}
)
SUCCESSFUL_JOB_STATES = frozenset({JobState.SUCCESS, JobState.CACHED})
TERMINAL_RUN_STATES = frozenset({RunState.SUCCESS, RunState.FAILED, RunState.CANCELED})

_JOB_TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.PENDING: frozenset(
        {JobState.QUEUED, JobState.SKIPPED, JobState.CACHED, JobState.CANCELED, JobState.FAILED}
    ),
    # queued -> cached: the cache lookup runs while the job waits for a slot.
    JobState.QUEUED: frozenset({JobState.RUNNING, JobState.CACHED, JobState.CANCELED, JobState.FAILED}),
    # running -> queued is a retry: the attempt failed and another one is due.
    JobState.RUNNING: frozenset({JobState.SUCCESS, JobState.FAILED, JobState.CANCELED, JobState.QUEUED}),
    # `reefline retry` puts unsuccessful jobs back to pending.
    JobState.FAILED: frozenset({JobState.PENDING}),
    JobState.CANCELED: frozenset({JobState.PENDING}),
    JobState.SKIPPED: frozenset({JobState.PENDING}),
    JobState.SUCCESS: frozenset(),
    JobState.CACHED: frozenset(),
}

_RUN_TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    RunState.PENDING: frozenset({RunState.RUNNING, RunState.CANCELED, RunState.FAILED}),
    RunState.RUNNING: frozenset({RunState.SUCCESS, RunState.FAILED, RunState.CANCELED}),
    RunState.FAILED: frozenset({RunState.RUNNING}),
    RunState.CANCELED: frozenset({RunState.RUNNING}),
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
