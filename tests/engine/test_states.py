"""The one vocabulary of states: the transition table, and everyone using its names."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import pytest

from reefline.cli.common import STATE_STYLES
from reefline.cli.progress import COUNT_ORDER, ICONS
from reefline.engine.states import (
    ACTIVE_RUN_STATES,
    TERMINAL_JOB_STATES,
    TERMINAL_RUN_STATES,
    InvalidTransition,
    JobState,
    RunState,
    check_job_transition,
    check_run_transition,
)
from reefline.services.queries import list_runs, show_run
from reefline.store._util import ACTIVE_RUN_STATES as STORE_ACTIVE
from tests.engine.support import Recorder

if TYPE_CHECKING:
    from reefline.engine.events import JobEvent
    from tests.engine.support import Project


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (RunState.FAILED, RunState.SUCCESS),  # the crash of a run closed behind its owner's back
        (RunState.INTERRUPTED, RunState.SUCCESS),
        (RunState.SUCCESS, RunState.RUNNING),
        (RunState.CANCELING, RunState.RUNNING),
        (RunState.CANCELING, RunState.SUCCESS),
        (RunState.PENDING, RunState.SUCCESS),
    ],
)
def test_a_run_transition_the_table_forbids_raises(current: RunState, new: RunState) -> None:
    with pytest.raises(InvalidTransition, match=f"run 7 cannot go from {current} to {new}"):
        check_run_transition(7, current, new)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (JobState.SUCCESS, JobState.RUNNING),
        (JobState.CACHED, JobState.PENDING),
        (JobState.INTERRUPTED, JobState.SUCCESS),
        (JobState.PENDING, JobState.RUNNING),  # a job is queued before it runs
        (JobState.PENDING, JobState.INTERRUPTED),  # only a running job is interrupted
    ],
)
def test_a_job_transition_the_table_forbids_raises(current: JobState, new: JobState) -> None:
    with pytest.raises(InvalidTransition, match=f"job 'train' cannot go from {current} to {new}"):
        check_job_transition("train", current, new)


def test_interrupted_is_terminal_and_canceling_is_not() -> None:
    assert RunState.INTERRUPTED in TERMINAL_RUN_STATES and JobState.INTERRUPTED in TERMINAL_JOB_STATES
    assert RunState.CANCELING in ACTIVE_RUN_STATES and RunState.CANCELING not in TERMINAL_RUN_STATES
    assert set(RunState) == ACTIVE_RUN_STATES | TERMINAL_RUN_STATES
    assert not ACTIVE_RUN_STATES & TERMINAL_RUN_STATES
    # the paths the engine and recovery take
    check_run_transition(1, RunState.RUNNING, RunState.CANCELING)
    check_run_transition(1, RunState.CANCELING, RunState.CANCELED)
    check_run_transition(1, RunState.CANCELING, RunState.INTERRUPTED)
    check_run_transition(1, RunState.INTERRUPTED, RunState.RUNNING)  # retry
    check_job_transition("j", JobState.RUNNING, JobState.INTERRUPTED)
    check_job_transition("j", JobState.INTERRUPTED, JobState.PENDING)  # retry


def test_the_store_and_the_cli_use_the_same_names() -> None:
    assert set(STORE_ACTIVE) == {str(s) for s in ACTIVE_RUN_STATES}
    every = {str(s) for s in JobState} | {str(s) for s in RunState}
    assert set(STATE_STYLES) == every  # each state has its colour, and no style names a ghost
    assert set(ICONS) == {str(s) for s in JobState}
    assert set(COUNT_ORDER) == {str(s) for s in JobState}


def test_a_canceled_run_goes_through_canceling(project: Project) -> None:
    project.write(
        """
        version: 1
        name: stop
        jobs:
          long: {script: ["sleep 30"]}
        """
    )
    cancel = threading.Event()
    seen: list[str] = []

    def on_event(event: JobEvent) -> None:
        if event.state is JobState.RUNNING:
            cancel.set()
        elif event.state is JobState.CANCELED:
            seen.append(list_runs(project.path)[0].state)  # what another terminal sees meanwhile

    outcome, _ = project.run(cancel=cancel, recorder=Recorder(on_event=on_event))
    assert outcome.state is RunState.CANCELED
    assert seen == ["canceling"]
    history = [(c.from_state, c.to_state) for c in show_run(project.path, "last").history if c.job_id is None]
    assert history[-2:] == [("running", "canceling"), ("canceling", "canceled")]
