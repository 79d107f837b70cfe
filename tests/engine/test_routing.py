"""Each job goes to the executor it names; per-run setup and teardown; what the engine does for an
executor that cannot time a step out or cancel it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pytest

from reefline.engine.routing import Executors, RunExecutors
from reefline.engine.states import RunState
from reefline.engine.workers import StepWorkers
from reefline.executors.base import LogSink, RunContext, StartError, StepContext, StepResult
from reefline.executors.fake import FakeExecutor
from reefline.plan.ir import ShellCommand, Step
from tests.engine.support import Project


def test_each_job_runs_with_the_executor_it_names(project: Project) -> None:
    project.write(
        """
        version: 1
        name: routed
        jobs:
          here: {script: ["echo on the host"]}
          faked: {executor: fake, script: ["exit 9"]}
          nowhere: {executor: nope, script: ["true"]}
        """
    )
    outcome, recorder = project.run()
    assert outcome.state is RunState.FAILED
    jobs = {j.job.name: j.job for j in project.detail().jobs}
    assert jobs["here"].state == "success"
    assert ("here", "stdout", "on the host") in recorder.logs
    assert jobs["faked"].state == "success"  # the fake ran it: its script never ran
    assert jobs["nowhere"].state == "failed"
    assert jobs["nowhere"].reason == "unknown executor 'nope'; known executors: local, fake, docker"


@dataclass(eq=False)
class _Handle:
    stop: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.time)


class _Plain:
    """An executor that neither times steps out nor knows how to cancel: it waits for ``stop``."""

    name: ClassVar[str] = "plain"
    supports_cancel: ClassVar[bool] = False
    supports_timeout: ClassVar[bool] = False

    def __init__(self) -> None:
        self.destroyed = 0
        self.runs: list[tuple[str, RunContext]] = []
        self.fail_setup = False

    def setup_run(self, run: RunContext) -> None:
        if self.fail_setup:
            raise RuntimeError("no engine here")
        self.runs.append(("setup", run))

    def teardown_run(self, run: RunContext) -> None:
        self.runs.append(("teardown", run))

    def start(self, step: Step, ctx: StepContext, log: LogSink) -> _Handle:
        return _Handle()

    def wait(self, handle: _Handle) -> StepResult:  # type: ignore[override]
        handle.stop.wait(30)
        return StepResult(None, handle.started, time.time(), error="killed")

    def cancel(self, handle: _Handle, grace: float | None = None) -> None:  # type: ignore[override]
        raise AssertionError("supports_cancel is False: the engine must not call cancel")

    def destroy(self, handle: _Handle) -> None:  # type: ignore[override]
        self.destroyed += 1
        handle.stop.set()


def _step(step_id: str = "s", executor: str = "plain", timeout: float | None = None) -> Step:
    return Step(
        id=step_id,
        job=step_id,
        stage="t",
        command=ShellCommand(("true",)),
        env=(),
        needs=(),
        timeout=timeout,
        executor=executor,
    )


def _workers(executor: _Plain, reports: list[tuple[object, ...]], tmp_path: Path) -> StepWorkers:
    from reefline.artifacts.hashing import Hasher

    return StepWorkers(route=lambda step: executor, hasher=Hasher(tmp_path), db=None, report=reports.append)  # type: ignore[arg-type]


def test_the_engine_times_out_a_step_its_executor_cannot(tmp_path: Path) -> None:
    plain, reports = _Plain(), []
    workers = _workers(plain, reports, tmp_path)
    began = time.monotonic()
    workers.attempt(_step(timeout=0.3), StepContext(1, 1, tmp_path, {}))
    assert time.monotonic() - began < 5
    result = next(r[2] for r in reports if r[0] == "done")
    assert isinstance(result, StepResult)
    assert result.timed_out and result.error == "timed out after 0.3s"
    assert plain.destroyed >= 1


def test_an_executor_without_cancel_is_destroyed_instead(tmp_path: Path) -> None:
    plain, reports = _Plain(), []
    workers = _workers(plain, reports, tmp_path)
    thread = threading.Thread(target=workers.attempt, args=(_step(), StepContext(1, 1, tmp_path, {})))
    thread.start()
    time.sleep(0.2)
    workers.cancel_all(1.0)
    thread.join(5)
    assert not thread.is_alive() and plain.destroyed >= 1


def test_setup_and_teardown_run_once_per_executor_with_its_steps(tmp_path: Path) -> None:
    plain, fake = _Plain(), FakeExecutor()
    executors = Executors(given={"plain": plain, "fake": fake})
    steps = [_step("a"), _step("b", executor="fake"), _step("c")]
    run = RunExecutors(executors, 7, tmp_path, steps)
    run.setup()
    assert run.for_step(steps[0]) is plain and run.for_step(steps[1]) is fake
    assert run.teardown() == []
    (setup, up), (teardown, down) = plain.runs
    assert (setup, teardown) == ("setup", "teardown") and up is down
    assert up.run_id == 7 and [s.id for s in up.steps] == ["a", "c"]


def test_a_failed_setup_fails_only_that_executors_steps(tmp_path: Path) -> None:
    plain = _Plain()
    plain.fail_setup = True
    executors = Executors(given={"plain": plain, "fake": FakeExecutor()})
    run = RunExecutors(executors, 7, tmp_path, [_step("a"), _step("b", executor="fake")])
    run.setup()
    with pytest.raises(StartError, match=r"executor 'plain': RuntimeError: no engine here"):
        run.for_step(_step("a"))
    assert run.for_step(_step("b", executor="fake")).name == "fake"
    assert run.teardown() == []  # nothing was set up for the failed one
