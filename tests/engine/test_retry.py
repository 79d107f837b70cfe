"""`reefline retry`: re-run only what did not succeed, in the same run."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from reefline.cli.progress import JobView, attempt_text
from reefline.engine.events import StepInfo
from reefline.engine.states import JobState, RunState
from reefline.services.runs import retry_run
from reefline.services.types import RunOptions, ServiceError
from tests.engine.support import Recorder

if TYPE_CHECKING:
    from tests.engine.support import Project

SPEC = """
version: 1
name: retryable
jobs:
  setup: {script: ["echo setup >> setup.log"]}
  build:
    needs: [setup]
    script: ["test -f fixed", "echo built > build.txt"]
    outputs: {out: {path: build.txt}}
  ship: {needs: [build], script: ["echo shipped >> ship.log"]}
"""


def test_retry_reruns_only_unsuccessful_jobs_in_the_same_run(project: Project) -> None:
    project.write(SPEC)
    first, _ = project.run()
    assert first.state is RunState.FAILED
    (project.path / "fixed").touch()
    rec = Recorder()
    outcome = retry_run(project.path, "last", RunOptions(), rec, threading.Event())
    assert outcome.run_id == first.run_id and outcome.state is RunState.SUCCESS
    assert rec.final() == {"build": JobState.SUCCESS, "ship": JobState.SUCCESS}
    # setup succeeded the first time and has no outputs: it is not run again
    assert (project.path / "setup.log").read_text() == "setup\n"
    jobs = {j.job.name: j for j in project.detail(str(first.run_id)).jobs}
    assert [a.number for a in jobs["build"].attempts] == [1, 2]
    assert [a.state for a in jobs["build"].attempts] == ["failed", "success"]
    assert jobs["setup"].job.attempts == 1


def test_retry_of_a_successful_run_is_refused(project: Project) -> None:
    project.write(SPEC)
    (project.path / "fixed").touch()
    project.run()
    with pytest.raises(ServiceError, match="nothing to retry"):
        retry_run(project.path, "last", RunOptions(), Recorder(), threading.Event())


FLAKY = """
version: 1
name: flaky
jobs:
  flaky:
    retry: {max: 1}
    script: ["test -f fixed"]
"""


@dataclass
class StepsRecorder(Recorder):
    steps: list[StepInfo] = field(default_factory=list)

    def run_started(self, run_id: int, steps: list[StepInfo]) -> None:
        self.steps = steps


def test_attempts_count_across_retries_and_the_first_start_is_kept(project: Project) -> None:
    project.write(FLAKY)
    first, _ = project.run()
    assert first.state is RunState.FAILED
    before = project.detail().run
    # The retried run gets its own retry budget; attempts go on from where they were.
    rec = StepsRecorder()
    outcome = retry_run(project.path, "last", RunOptions(), rec, threading.Event())
    assert outcome.state is RunState.FAILED
    assert [s.max_attempts for s in rec.steps] == [4]
    running = [e.attempt for e in rec.events if e.state is JobState.RUNNING]
    assert running == [3, 4]
    view = JobView("flaky", attempt=3, max_attempts=rec.steps[0].max_attempts)
    assert attempt_text(view) == "(attempt 3/4)"  # not "(attempt 3/2)"
    after = project.detail().run
    assert after.started_at == before.started_at
    assert after.last_started_at is not None and before.started_at is not None
    assert after.last_started_at > before.started_at
    assert after.finished_at is not None and after.finished_at > (before.finished_at or 0)
    jobs = project.detail().jobs
    assert [a.number for a in jobs[0].attempts] == [1, 2, 3, 4]
    # the history keeps both executions
    run_changes = [(c.from_state, c.to_state) for c in project.detail().history if c.job_id is None]
    assert run_changes == [
        (None, "pending"),
        ("pending", "running"),
        ("running", "failed"),
        ("failed", "running"),
        ("running", "failed"),
    ]
