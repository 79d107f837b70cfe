"""`reefline retry`: re-run only what did not succeed, in the same run."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import pytest

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
