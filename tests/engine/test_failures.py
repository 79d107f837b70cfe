"""A run always ends: an exception in any engine thread fails that job with `internal error`.

Faults are injected at each stage (executor start/wait/cancel/destroy/log sink, the hasher, the
artifact store, the worker function itself); each run is guarded by a timeout, since the bug these
tests catch is a hang.
"""

from __future__ import annotations

import itertools
import threading
from pathlib import Path
from typing import Any

import pytest

from reefline.artifacts.hashing import Digest, Hasher
from reefline.artifacts.store import LocalArtifactStore
from reefline.engine.runner import RunExecution, RunResult
from reefline.engine.states import JobState, RunState
from reefline.executors.fake import Behavior, FakeExecutor, FaultPoint
from reefline.plan.ir import InputRef, OutputRef, Plan, ShellCommand, Step
from reefline.store import repo
from reefline.store.db import open_database
from tests.engine.support import Recorder

HANG_GUARD = 30.0
_ids = itertools.count(1)


def _step(sid: str, **fields: Any) -> Step:
    return Step(
        id=sid, job=sid, stage="default", command=ShellCommand(("true",)), env=(), needs=(),
        definition_hash=f"def-{sid}", **fields,
    )  # fmt: skip


class _Run:
    def __init__(self, tmp_path: Path, steps: list[Step], executor: FakeExecutor) -> None:
        self.workspace = tmp_path / f"ws{next(_ids)}"
        self.workspace.mkdir()
        self.db = open_database(f"sqlite:///{tmp_path / 'runs.db'}")
        plan = Plan("faults", tuple(steps))
        with self.db.begin() as conn:
            pipeline = repo.get_or_create_pipeline(conn, "faults", str(self.workspace), 0.0)
            run_id = repo.create_run(
                conn, pipeline_id=pipeline, spec_text="", spec_path=str(self.workspace), spec_hash="0" * 64,
                params={}, workspace=str(self.workspace), options={}, trigger="test", owner_host="h",
                owner_pid=0, now=0.0,
            )  # fmt: skip
            job_ids = repo.create_jobs(
                conn,
                run_id,
                [
                    {"name": s.id, "job": s.job, "stage": s.stage, "position": i, "matrix": {},
                     "needs": list(s.needs), "state": "pending", "allow_failure": s.allow_failure}
                    for i, s in enumerate(plan.steps)
                ],
            )  # fmt: skip
        self.run_id, self.job_ids = run_id, job_ids
        self.recorder = Recorder()
        self.cancel = threading.Event()
        self.execution = RunExecution(
            db=self.db, run_id=run_id, plan=plan, job_ids=job_ids,
            states=dict.fromkeys(job_ids, JobState.PENDING), attempts={}, workspace=self.workspace,
            executor=executor, observer=self.recorder, parallelism=2, cancel=self.cancel, grace=0.5,
            artifacts=LocalArtifactStore(self.workspace / ".reefline" / "artifacts"),
        )  # fmt: skip

    def execute(self) -> RunResult:
        """Run to the end in a thread; fail (instead of hanging the suite) if it does not end."""
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                box["result"] = self.execution.execute()
            except BaseException as exc:  # surfaced below
                box["error"] = exc

        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        thread.join(HANG_GUARD)
        assert not thread.is_alive(), f"the run did not end within {HANG_GUARD}s"
        if "error" in box:
            raise box["error"]
        result: RunResult = box["result"]
        return result

    def job(self, name: str) -> Any:
        with self.db.connect() as conn:
            return repo.get_job_by_name(conn, self.run_id, name)

    def log_texts(self, name: str) -> list[str]:
        with self.db.connect() as conn:
            rows = repo.read_logs(conn, self.run_id, job_id=self.job_ids[name], limit=100_000)
        return [r.text for r in rows]


def _assert_internal_error(run: _Run, result: RunResult, name: str = "broken") -> None:
    assert result.state is RunState.FAILED
    job = run.job(name)
    assert job.state == "failed"
    assert (job.reason or "").startswith("internal error: "), job.reason
    assert any("Traceback" in line for line in run.log_texts(name)), run.log_texts(name)


@pytest.mark.parametrize("where", ["start", "wait", "destroy", "log"])
def test_an_executor_fault_fails_that_job_and_the_run_ends(tmp_path: Path, where: FaultPoint) -> None:
    executor = FakeExecutor({"broken": Behavior.raises(where)}, default=Behavior.succeed())
    run = _Run(tmp_path, [_step("broken"), _step("fine")], executor)
    result = run.execute()
    _assert_internal_error(run, result)
    assert "InjectedFault" in (run.job("broken").reason or "")
    assert run.job("fine").state == "success"


def test_a_cancel_that_raises_still_ends_the_run(tmp_path: Path) -> None:
    executor = FakeExecutor({"stuck": Behavior.raises("cancel", hangs=True)})
    run = _Run(tmp_path, [_step("stuck")], executor)
    run.recorder.on_event = lambda e: run.cancel.set() if e.state is JobState.RUNNING else None
    result = run.execute()
    assert result.state is RunState.CANCELED
    assert "destroy" in executor.operations("stuck")  # the fallback when cancel itself fails


class _FailingHasher(Hasher):
    """Breaks (as a bug would, not with an ArtifactError) on ``path`` once it exists."""

    def __init__(self, workspace: Path, path: str) -> None:
        super().__init__(workspace)
        self.path = path

    def digest(self, relpath: str) -> Digest:
        if relpath == self.path and (self.workspace / relpath).exists():
            raise FileNotFoundError(2, "No such file or directory", str(self.workspace / relpath))
        return super().digest(relpath)


def test_a_hasher_fault_while_preparing_fails_the_job(tmp_path: Path) -> None:
    step = _step("broken", inputs=(InputRef("data", ("data.txt",), "file"),))
    run = _Run(tmp_path, [step], FakeExecutor())
    (run.workspace / "data.txt").write_text("x")
    run.execution.step_workers.hasher = _FailingHasher(run.workspace, "data.txt")
    result = run.execute()
    _assert_internal_error(run, result)
    assert "FileNotFoundError" in (run.job("broken").reason or "")


def test_a_hasher_fault_on_outputs_fails_the_job(tmp_path: Path) -> None:
    step = _step("broken", outputs=(OutputRef("out", "out.txt", "file"),))
    run = _Run(tmp_path, [step], FakeExecutor(default=Behavior.succeed(files={"out.txt": "made"})))
    run.execution.step_workers.hasher = _FailingHasher(run.workspace, "out.txt")
    _assert_internal_error(run, run.execute())


class _FailingStore(LocalArtifactStore):
    def save(self, hasher: Hasher, relpath: str, sha256: str) -> None:
        raise RuntimeError("the artifact store is broken")


def test_an_artifact_store_fault_fails_the_job(tmp_path: Path) -> None:
    step = _step("broken", outputs=(OutputRef("out", "out.txt", "file"),))
    run = _Run(tmp_path, [step], FakeExecutor(default=Behavior.succeed(files={"out.txt": "made"})))
    run.execution.step_workers.store = _FailingStore(tmp_path / "store")
    result = run.execute()
    _assert_internal_error(run, result)
    assert run.job("broken").reason == "internal error: RuntimeError: the artifact store is broken"


class _FullStore(LocalArtifactStore):
    def save(self, hasher: Hasher, relpath: str, sha256: str) -> None:
        raise OSError(28, "No space left on device")


@pytest.mark.parametrize("cache", [True, False])
def test_a_store_that_cannot_keep_an_output_is_a_warning_not_a_failure(tmp_path: Path, cache: bool) -> None:
    step = _step("made", outputs=(OutputRef("out", "out.txt", "file"),), cache=cache)
    run = _Run(tmp_path, [step], FakeExecutor(default=Behavior.succeed(files={"out.txt": "made"})))
    run.execution.step_workers.store = _FullStore(tmp_path / "store")
    assert run.execute().state is RunState.SUCCESS
    assert run.job("made").state == "success"
    assert any(
        "could not keep a copy of out.txt in the artifact store" in line and "No space left" in line
        for line in run.log_texts("made")
    )
    with run.db.connect() as conn:
        [output] = repo.list_job_outputs(conn, run.job_ids["made"])
    assert (output.name, output.attempt, output.uri) == ("out", 1, None)  # recorded, not kept


class _Escape(BaseException):
    """Not an Exception: nothing inside the worker catches it."""


@pytest.mark.parametrize("what", ["attempt", "prepare"])
def test_a_worker_that_raises_without_reporting_fails_its_job(tmp_path: Path, what: str) -> None:
    step = _step("broken", outputs=(OutputRef("out", "out.txt", "file"),))
    run = _Run(tmp_path, [step, _step("fine")], FakeExecutor())

    original = getattr(run.execution.step_workers, what)

    def escape(step: Step, *args: object) -> None:
        if step.id == "broken":
            raise _Escape("worker died")
        original(step, *args)

    setattr(run.execution.step_workers, what, escape)
    result = run.execute()
    _assert_internal_error(run, result)
    assert run.job("broken").reason == "internal error: _Escape: worker died"
    assert run.job("fine").state == "success"


def test_a_dangling_symlink_in_a_directory_output_is_hashed_as_a_link(tmp_path: Path) -> None:
    def make(step: Step, ctx: Any) -> None:
        out = ctx.workspace / "out"
        out.mkdir()
        (out / "dangling").symlink_to("does-not-exist")

    step = _step("maker", outputs=(OutputRef("out", "out", "dir"),))
    run = _Run(tmp_path, [step], FakeExecutor(default=Behavior.succeed(action=make)))
    result = run.execute()
    assert result.state is RunState.SUCCESS
    assert run.job("maker").state == "success"


class _BrokenObserver(Recorder):
    def log_line(self, run_id: int, name: str, stream: str, ts: float, text: str) -> None:
        raise RuntimeError("observer bug")


def test_an_engine_thread_crash_during_a_log_flood_does_not_leave_workers_blocked(tmp_path: Path) -> None:
    flood = Behavior.succeed(logs=[f"line {i}" for i in range(40_000)])  # more than 16 batches wait
    run = _Run(tmp_path, [_step("loud")], FakeExecutor({"loud": flood}))
    run.execution.observer = _BrokenObserver()
    with pytest.raises(RuntimeError, match="observer bug"):
        run.execute()  # raises instead of hanging on a worker that waits for the dead engine
