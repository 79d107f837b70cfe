"""LocalExecutor with real processes: shell semantics, process trees, output decoding, resources."""

from __future__ import annotations

import os
import resource
import threading
import time
from pathlib import Path

import pytest
from exec_support import GRACE, Logs, leftovers, make_step, run

from reefline.executors import local as local_module
from reefline.executors.base import StartError, StepContext
from reefline.executors.lines import MAX_LINE_BYTES
from reefline.executors.local import LocalExecutor

# Background children, a subshell and a nested shell: the tree a timeout or cancel must take down.
TREE = ["sleep 300 &", "( sleep 300 ) &", "bash -c 'sleep 300; true' &", "bash -c 'sleep 300; true'"]


@pytest.fixture
def local() -> LocalExecutor:
    return LocalExecutor(grace=GRACE)


def test_script_stops_at_first_failing_line(local: LocalExecutor, ctx: StepContext) -> None:
    result, logs = run(local, make_step(["echo a", "exit 3", "echo b"]), ctx)
    assert result.exit_code == 3
    assert result.error == "exited with code 3"
    assert logs.of("stdout") == ["a"]


def test_failing_command_fails_the_script(local: LocalExecutor, ctx: StepContext) -> None:
    result, logs = run(local, make_step(["false | cat", "echo after"]), ctx)  # pipefail too
    assert result.exit_code == 1
    assert logs.of("stdout") == []


def test_env_and_cwd_are_the_contexts(local: LocalExecutor, tmp_path: Path) -> None:
    ctx = StepContext(run_id=1, attempt=1, workspace=tmp_path, env={"ONLY": "this"})
    result, logs = run(local, make_step(['echo "$ONLY"', "pwd", "env | grep -c '^HOME=' || true"]), ctx)
    assert result.ok, logs.lines
    assert logs.of("stdout") == ["this", str(tmp_path), "0"]


def test_timeout_kills_grandchildren(local: LocalExecutor, ctx: StepContext, marker: str) -> None:
    logs = Logs()
    handle = local.start(make_step(TREE, timeout=0.5), ctx, logs)
    session = handle.proc.pid
    time.sleep(0.2)
    assert len(leftovers(marker, session, settle=0)) >= 5  # bash + the tree
    result = local.wait(handle)
    local.destroy(handle)
    assert result.timed_out and result.error == "timed out after 0.5s"
    assert result.exit_code == 128 + 15
    assert leftovers(marker, session) == []
    assert any("timed out" in line for line in logs.of("system"))


def test_cancel_terminates_the_tree_within_grace(local: LocalExecutor, ctx: StepContext, marker: str) -> None:
    handle = local.start(make_step(TREE), ctx, Logs())
    threading.Timer(0.3, local.cancel, args=(handle, 30.0)).start()
    t0 = time.monotonic()
    result = local.wait(handle)
    elapsed = time.monotonic() - t0
    local.destroy(handle)
    assert result.canceled and result.error == "canceled"
    assert elapsed < 10  # SIGTERM ended the tree: no waiting for the SIGKILL 30 s later
    assert leftovers(marker, handle.proc.pid) == []


def test_sigterm_ignoring_step_is_killed_after_grace(
    local: LocalExecutor, ctx: StepContext, marker: str
) -> None:
    logs = Logs()
    handle = local.start(make_step(["trap '' TERM", "sleep 300"]), ctx, logs)
    time.sleep(0.1)
    t0 = time.monotonic()
    local.cancel(handle, grace=0.3)
    result = local.wait(handle)
    elapsed = time.monotonic() - t0
    local.destroy(handle)
    assert result.canceled
    assert result.exit_code == 128 + 9
    assert handle.proc.returncode == -9  # Popen's own convention stays intact
    assert 0.3 <= elapsed < 0.3 + 5  # killed at the end of the grace, not after the sleep
    assert any("SIGKILL" in line for line in logs.of("system"))
    assert leftovers(marker, handle.proc.pid) == []


def test_sigterm_ignoring_step_times_out_with_constructor_grace(ctx: StepContext, marker: str) -> None:
    t0 = time.monotonic()
    result, _ = run(LocalExecutor(grace=0.3), make_step(["trap '' TERM", "sleep 300"], timeout=0.2), ctx)
    assert result.timed_out and result.exit_code == 137
    assert 0.5 <= time.monotonic() - t0 < 6


def test_killed_by_signal_is_reported(local: LocalExecutor, ctx: StepContext) -> None:
    result, _ = run(local, make_step(["kill -KILL $$"]), ctx)
    assert result.exit_code == 137
    assert result.error == "killed by signal SIGKILL"


def test_background_grandchild_is_killed_when_the_step_ends(
    local: LocalExecutor, ctx: StepContext, marker: str
) -> None:
    logs = Logs()
    handle = local.start(make_step(["sleep 300 &", "sleep 300 >/dev/null 2>&1 &", "echo done"]), ctx, logs)
    t0 = time.monotonic()
    result = local.wait(handle)
    local.destroy(handle)
    assert result.ok
    assert time.monotonic() - t0 < 10  # the first sleep held stdout for 300 s
    assert not any("still holds" in line for line in logs.of("system"))  # killed, not drained out
    assert logs.of("stdout") == ["done"]
    assert leftovers(marker, handle.proc.pid) == []


def test_escaped_grandchild_holding_the_pipe_does_not_hang_the_step(ctx: StepContext, marker: str) -> None:
    local = LocalExecutor(drain_after_exit=0.3)
    t0 = time.monotonic()
    # Without the attempt marker in its environment the escapee cannot be found: only the drain
    # limit keeps the step from hanging.
    script = ["env -u REEFLINE_ATTEMPT_ID setsid sleep 300 &", "sleep 0.2", "echo done"]
    result, logs = run(local, make_step(script), ctx)
    assert result.ok
    assert time.monotonic() - t0 < 10  # the drain limit, not the escapee's 300 s
    assert logs.of("stdout") == ["done"]
    assert any("still holds" in line for line in logs.of("system"))
    # (the conftest marker fixture kills the escaped sleep)


def test_a_setsid_escapee_is_killed_when_the_step_ends(
    local: LocalExecutor, ctx: StepContext, marker: str
) -> None:
    script = ["setsid sleep 300 &", "(setsid sh -c 'sleep 300 & sleep 300' &) ", "sleep 0.2", "echo done"]
    result, logs = run(local, make_step(script), ctx)
    assert result.ok
    assert logs.of("stdout") == ["done"]
    assert not any("still holds" in line for line in logs.of("system"))  # killed, so the pipes closed
    assert leftovers(marker) == []


def test_a_script_over_128_kib_runs_from_a_file(local: LocalExecutor, ctx: StepContext) -> None:
    lines = [f"x{i}={'v' * 100}" for i in range(2000)] + ["echo $0 | grep -c script.sh", "echo last"]
    result, logs = run(local, make_step(lines), ctx)
    assert sum(len(line) + 1 for line in lines) > 128 * 1024
    assert result.ok, logs.lines
    assert logs.of("stdout") == ["1", "last"]


def test_long_line_without_trailing_newline(local: LocalExecutor, ctx: StepContext) -> None:
    script = ["head -c 200000 /dev/zero | tr '\\0' a", "printf tail"]
    result, logs = run(local, make_step(script), ctx)
    assert result.ok
    out = logs.of("stdout")
    assert "".join(out) == "a" * 200000 + "tail"
    assert all(len(line.encode()) <= MAX_LINE_BYTES for line in out)
    assert len(out) == 4


def test_long_utf8_line_is_not_split_inside_a_character(local: LocalExecutor, ctx: StepContext) -> None:
    result, logs = run(local, make_step(["python3 -c 'print(\"é\" * 100000)'"]), ctx)
    assert result.ok
    out = logs.of("stdout")
    assert len(out) > 1
    assert "".join(out) == "é" * 100000


def test_carriage_returns_and_empty_lines(local: LocalExecutor, ctx: StepContext) -> None:
    # \r\n is one line end; a lone \r (progress bars) is one too, kept to mark the line that the next
    # one overwrites; a \r\n split across writes is still one line end.
    script = ["printf 'a\\r\\nb\\rc\\n\\nd\\r'", "sleep 0.05", "printf '\\ne'"]
    result, logs = run(local, make_step(script), ctx)
    assert result.ok
    assert logs.of("stdout") == ["a", "b\r", "c", "", "d", "e"]


def test_binary_garbage(local: LocalExecutor, ctx: StepContext) -> None:
    script = ["head -c 300000 /dev/urandom", "printf '\\xff\\xfeok\\n' >&2"]
    result, logs = run(local, make_step(script), ctx)
    assert result.ok
    assert all(isinstance(line, str) for _, _, line in logs.lines)
    assert logs.of("stderr") == ["\ufffd\ufffdok"]


def test_start_error_when_bash_is_missing(local: LocalExecutor, tmp_path: Path) -> None:
    ctx = StepContext(run_id=1, attempt=1, workspace=tmp_path, env={"PATH": str(tmp_path)})
    with pytest.raises(StartError, match="bash"):
        local.start(make_step(["true"]), ctx, Logs())


def test_start_error_when_workspace_is_a_file(local: LocalExecutor, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    ctx = StepContext(run_id=1, attempt=1, workspace=tmp_path / "f", env=dict(os.environ))
    with pytest.raises(StartError, match="not a directory"):
        local.start(make_step(["true"]), ctx, Logs())


def test_resources_are_reported(local: LocalExecutor, ctx: StepContext) -> None:
    # A step's peak RSS is only told apart from the engine's when it is higher (see _peak_rss):
    # outgrow this test process, whatever the tests before it made it grow to.
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    size = max(150_000_000, own + 50_000_000)
    burn = f"python3 -c 'b = b\"x\" * {size}; sum(range(3_000_000))'"
    result, _ = run(local, make_step([burn]), ctx)
    assert result.ok
    assert result.cpu_seconds is not None and result.cpu_seconds > 0.02
    assert result.peak_rss_bytes is not None and result.peak_rss_bytes >= size


def test_wait_returns_the_same_result_twice_and_refuses_after_destroy(
    local: LocalExecutor, ctx: StepContext
) -> None:
    handle = local.start(make_step(["true"]), ctx, Logs())
    first = local.wait(handle)
    assert local.wait(handle) is first
    local.destroy(handle)
    fresh = local.start(make_step(["sleep 300"]), ctx, Logs())
    local.destroy(fresh)
    with pytest.raises(RuntimeError):
        local.wait(fresh)


def test_exception_in_log_sink_propagates_and_destroy_cleans_up(
    local: LocalExecutor, ctx: StepContext, marker: str
) -> None:
    def broken(stream: str, ts: float, line: str) -> None:
        raise OSError("disk full")

    handle = local.start(make_step(["echo x", "sleep 300"]), ctx, broken)
    with pytest.raises(OSError, match="disk full"):
        local.wait(handle)
    local.destroy(handle)
    assert leftovers(marker, handle.proc.pid) == []


def test_wrong_handle_type(local: LocalExecutor) -> None:
    with pytest.raises(TypeError):
        local.wait(object())


def test_peak_rss_is_not_the_engines(local: LocalExecutor, ctx: StepContext) -> None:
    # The kernel hands our own peak RSS (pytest's, tens of MB) to every child; a tiny step must not
    # report it as its own. (No ballast here: it would raise this process's peak for other tests.)
    result, _ = run(local, make_step(["true"]), ctx)
    assert result.peak_rss_bytes is None
    assert result.cpu_seconds is not None


@pytest.mark.parametrize("waitid", [True, False], ids=["waitid", "wait4-nohang"])
def test_without_pidfd_exit_is_polled(
    monkeypatch: pytest.MonkeyPatch, ctx: StepContext, marker: str, waitid: bool
) -> None:
    """Old kernels and macOS have no pidfd (and macOS no waitid): the same behaviour, polled."""
    monkeypatch.setattr(local_module, "_pidfd_usable", False)
    monkeypatch.setattr(local_module, "_HAS_WAITID", waitid)
    local = LocalExecutor(grace=GRACE)
    result, logs = run(local, make_step(["sleep 300 &", "echo a", "exit 4"]), ctx)
    assert result.exit_code == 4 and logs.of("stdout") == ["a"]
    assert result.cpu_seconds is not None
    handle = local.start(make_step(TREE, timeout=0.3), ctx, Logs())
    assert handle.pidfd is None
    result = local.wait(handle)
    local.destroy(handle)
    assert result.timed_out
    assert leftovers(marker, handle.proc.pid) == []


def test_cancel_without_grace_kills_at_once(ctx: StepContext, marker: str) -> None:
    local = LocalExecutor(grace=30)
    handle = local.start(make_step(["trap '' TERM", *TREE]), ctx, Logs())
    threading.Timer(0.2, local.cancel, args=(handle, 0.0)).start()
    t0 = time.monotonic()
    result = local.wait(handle)
    local.destroy(handle)
    assert result.canceled and result.exit_code == 137
    assert time.monotonic() - t0 < 10  # not the executor's 30 s grace
    assert leftovers(marker, handle.proc.pid) == []
