"""The executor contract, run against every executor (Luigi style: one suite, many backends)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from exec_support import Harness, Logs, run

from reefline.executors.base import StartError, StepContext, StepResult


def test_declares_name_and_capabilities(harness: Harness) -> None:
    assert harness.executor.name == harness.kind.split("+")[0]  # local+sandbox is the local executor
    assert harness.executor.supports_cancel is True
    assert harness.executor.supports_timeout is True


def test_success(harness: Harness, ctx: StepContext) -> None:
    before = time.time()
    result, _ = run(harness.executor, harness.step(), ctx)
    assert result.ok
    assert result.exit_code == 0
    assert result.error is None
    assert not result.timed_out and not result.canceled
    assert before <= result.started_at <= result.finished_at <= time.time()


def test_failure_reports_exit_code(harness: Harness, ctx: StepContext) -> None:
    result, _ = run(harness.executor, harness.step(exit_code=3), ctx)
    assert not result.ok
    assert result.exit_code == 3
    assert result.error is not None and "3" in result.error


def test_logs_in_order_with_streams_tagged(harness: Harness, ctx: StepContext) -> None:
    lines = [("stdout", "one"), ("stderr", "two"), ("stdout", "three"), ("stderr", "four")]
    result, logs = run(harness.executor, harness.step(logs=lines), ctx)  # type: ignore[arg-type]
    assert result.ok
    # Two pipes have no common order; within one stream the order is the program's.
    assert logs.of("stdout") == ["one", "three"]
    assert logs.of("stderr") == ["two", "four"]
    stamps = [ts for _, ts, _ in logs.lines]
    assert all(result.started_at - 0.01 <= ts <= result.finished_at + 0.01 for ts in stamps)


def test_cancel_from_another_thread(harness: Harness, ctx: StepContext) -> None:
    ex = harness.executor
    handle = ex.start(harness.step(hang=True), ctx, Logs())
    timer = threading.Timer(0.2, ex.cancel, args=(handle,))
    timer.start()
    t0 = time.monotonic()
    result = ex.wait(handle)
    elapsed = time.monotonic() - t0
    ex.destroy(handle)
    assert result.canceled and not result.timed_out and not result.ok
    assert result.error == "canceled"
    assert 0.15 < elapsed < 10  # a guard: the step would hang forever


def test_cancel_before_wait_and_twice(harness: Harness, ctx: StepContext) -> None:
    ex = harness.executor
    handle = ex.start(harness.step(hang=True), ctx, Logs())
    ex.cancel(handle)
    ex.cancel(handle)
    result = ex.wait(handle)
    ex.destroy(handle)
    assert result.canceled


def test_cancel_after_the_end_changes_nothing(harness: Harness, ctx: StepContext) -> None:
    ex = harness.executor
    handle = ex.start(harness.step(), ctx, Logs())
    result = ex.wait(handle)
    ex.cancel(handle)
    again: list[StepResult] = []
    waiter = threading.Thread(target=lambda: again.append(ex.wait(handle)), daemon=True)
    waiter.start()
    waiter.join(10)  # a second wait returns the same result at once; it must not block
    ex.destroy(handle)
    assert again == [result]
    assert result.ok and not result.canceled


def test_timeout(harness: Harness, ctx: StepContext) -> None:
    t0 = time.monotonic()
    result, _ = run(harness.executor, harness.step(hang=True, timeout=0.3), ctx)
    elapsed = time.monotonic() - t0
    assert result.timed_out and not result.canceled and not result.ok
    assert result.error == "timed out after 0.3s"
    assert 0.25 < elapsed < 10  # a guard: the step would hang forever


def test_fast_step_is_not_timed_out(harness: Harness, ctx: StepContext) -> None:
    result, _ = run(harness.executor, harness.step(seconds=0.05, timeout=5), ctx)
    assert result.ok and not result.timed_out


def test_destroy_twice_and_after_failure(harness: Harness, ctx: StepContext) -> None:
    ex = harness.executor
    handle = ex.start(harness.step(exit_code=1), ctx, Logs())
    assert ex.wait(handle).exit_code == 1
    ex.destroy(handle)
    ex.destroy(handle)
    ex.cancel(handle)  # still harmless


def test_destroy_without_wait_stops_the_step(harness: Harness, ctx: StepContext) -> None:
    ex = harness.executor
    handle = ex.start(harness.step(hang=True), ctx, Logs())
    t0 = time.monotonic()
    ex.destroy(handle)
    ex.destroy(handle)
    assert time.monotonic() - t0 < 10  # a guard: the step would hang forever


def test_start_error_when_workspace_is_missing(harness: Harness, ctx: StepContext, tmp_path: Path) -> None:
    missing = StepContext(run_id=1, attempt=1, workspace=tmp_path / "nope", env=ctx.env)
    with pytest.raises(StartError, match="nope"):
        harness.executor.start(harness.step(), missing, Logs())


def test_parallel_steps_overlap(harness: Harness, ctx: StepContext) -> None:
    results = []

    def one(step_id: str) -> None:
        results.append(run(harness.executor, harness.step(step_id, seconds=0.5), ctx)[0])

    threads = [threading.Thread(target=one, args=(f"s{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.ok for r in results] == [True, True]
    first, second = results
    # Each ran 0.5 s; in sequence their intervals could not overlap, whatever the machine's speed.
    assert first.started_at < second.finished_at and second.started_at < first.finished_at
