"""FakeExecutor's scripted faults and its records (the contract itself is in the contract suite)."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest
from exec_support import Logs, make_step, run

from reefline.executors.base import StartError, StepContext
from reefline.executors.fake import Behavior, FakeExecutor
from reefline.executors.local import LocalExecutor
from reefline.executors.registry import get_executor
from reefline.plan.ir import Step


def step(step_id: str = "s", timeout: float | None = None) -> Step:
    return make_step(["true"], step_id, timeout)


def test_default_behaviour_succeeds_instantly(ctx: StepContext) -> None:
    result, logs = run(FakeExecutor(), step(), ctx)
    assert result.ok and logs.lines == []


def test_logs_strings_go_to_stdout(ctx: StepContext) -> None:
    fake = FakeExecutor(default=Behavior.succeed(logs=["a", ("stderr", "b"), "c"]))
    _, logs = run(fake, step(), ctx)
    assert [(s, line) for s, _, line in logs.lines] == [("stdout", "a"), ("stderr", "b"), ("stdout", "c")]


def test_fail_with_exit_code(ctx: StepContext) -> None:
    result, _ = run(FakeExecutor({"s": Behavior.fail(exit_code=42)}), step(), ctx)
    assert result.exit_code == 42 and result.error == "exited with code 42"


def test_flaky_fails_the_first_attempts(ctx: StepContext) -> None:
    fake = FakeExecutor({"s": Behavior.flaky(fail_first=2, exit_code=5)})
    codes = [run(fake, step(), replace(ctx, attempt=n))[0].exit_code for n in (1, 2, 3)]
    assert codes == [5, 5, 0]
    assert fake.attempts("s") == 3


def test_start_error_is_raised_and_recorded(ctx: StepContext) -> None:
    fake = FakeExecutor({"bad": Behavior.start_fails("no docker")})
    with pytest.raises(StartError, match="no docker"):
        fake.start(step("bad"), ctx, Logs())
    assert fake.calls == [("start_error", "bad", 1)]
    assert fake.running == 0


def test_files_are_written_into_the_workspace(ctx: StepContext) -> None:
    fake = FakeExecutor({"s": Behavior.succeed(files={"out/model.bin": b"\x00\x01", "m.json": "{}"})})
    result, _ = run(fake, step(), ctx)
    assert result.ok
    assert (ctx.workspace / "out/model.bin").read_bytes() == b"\x00\x01"
    assert (ctx.workspace / "m.json").read_text() == "{}"


def test_no_files_when_canceled_or_timed_out(ctx: StepContext) -> None:
    hang = Behavior(hangs=True, files=(("x", b"1"),))
    fake = FakeExecutor({"s": hang})
    result, _ = run(fake, step(timeout=0.05), ctx)
    assert result.timed_out
    assert not (ctx.workspace / "x").exists()


def test_slow_step_times_out_at_step_timeout(ctx: StepContext) -> None:
    result, _ = run(FakeExecutor(default=Behavior.succeed(seconds=5)), step(timeout=0.05), ctx)
    assert result.timed_out and result.error == "timed out after 0.05s"


def test_action_runs_with_step_and_context(ctx: StepContext) -> None:
    seen: list[tuple[str, Path]] = []
    fake = FakeExecutor(default=Behavior.succeed(action=lambda s, c: seen.append((s.id, c.workspace))))
    run(fake, step("x"), ctx)
    assert seen == [("x", ctx.workspace)]


def test_records_call_order(ctx: StepContext) -> None:
    fake = FakeExecutor({"h": Behavior.hang()})
    handle = fake.start(step("h"), ctx, Logs())
    fake.cancel(handle)
    fake.wait(handle)
    fake.destroy(handle)
    assert fake.operations("h") == ["start", "cancel", "wait", "destroy"]


def test_max_concurrency(ctx: StepContext) -> None:
    fake = FakeExecutor(default=Behavior.succeed(seconds=0.2))
    threads = [threading.Thread(target=run, args=(fake, step(f"s{i}"), ctx)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fake.max_concurrency == 3
    assert fake.running == 0


def test_destroy_ends_a_wait_in_another_thread(ctx: StepContext) -> None:
    fake = FakeExecutor(default=Behavior.hang())
    handle = fake.start(step(), ctx, Logs())
    threading.Timer(0.05, fake.destroy, args=(handle,)).start()
    assert fake.wait(handle).canceled


def test_registry(ctx: StepContext) -> None:
    assert isinstance(get_executor("local", grace=1.0), LocalExecutor)
    fake = get_executor("fake", default=Behavior.fail(3))
    assert isinstance(fake, FakeExecutor)
    assert run(fake, step(), ctx)[0].exit_code == 3
    with pytest.raises(ValueError, match="known executors: local, fake"):
        get_executor("kubernetes")
