"""End to end: the installed ``reefline`` script run as a subprocess in a temporary project."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

REEFLINE = str(Path(sys.executable).with_name("reefline"))

OK_SPEC = """\
version: 1
name: e2e
params:
  greeting: hello
stages: [one, two]
jobs:
  make:
    stage: one
    script:
      - mkdir -p out
      - echo "${{ params.greeting }}" > out/a.txt
      - echo made
    outputs:
      a:
        path: out/a.txt
        type: file
  use:
    stage: two
    inputs:
      a:
        from: make.a
    script:
      - mkdir -p out
      - cat out/a.txt
      - >-
        echo '{"acc": 0.5}' > out/m.json
    metrics: out/m.json
"""

FAIL_SPEC = """\
version: 1
name: e2e-fail
jobs:
  fail:
    script:
      - for i in $(seq 1 30); do echo "log line $i"; done
      - exit 3
"""

SLOW_SPEC = """\
version: 1
name: e2e-slow
jobs:
  sleepy:
    script:
      - echo started
      - sleep 60
"""

INVALID_SPEC = """\
version: 1
name: bad
jobs:
  a:
    needs: [nope]
    script: echo
"""


def reefline(project: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR", "FORCE_COLOR")}
    return subprocess.run(
        [REEFLINE, *args], cwd=project, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def show(project: Path, run: str = "last") -> dict[str, Any]:
    result = reefline(project, "show", run, "--json")
    assert result.returncode == 0, result.stderr
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


def write(project: Path, text: str) -> None:
    (project / "reefline.yaml").write_text(text)


def test_successful_run_and_queries(tmp_path: Path) -> None:
    write(tmp_path, OK_SPEC)
    result = reefline(tmp_path, "run", "-p", "greeting=hi")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [re.sub(r"^\d\d:\d\d:\d\d ", "", line) for line in result.stdout.splitlines()]
    assert lines[0] == "run 1 started: 2 jobs"
    assert any(line.startswith("make success") for line in lines)
    assert re.match(r"run 1 success in [\d.]+s — 2 jobs: 2 success$", lines[-1])

    runs = json.loads(reefline(tmp_path, "runs", "--json").stdout)
    assert [r["id"] for r in runs] == [1]
    assert runs[0]["state"] == "success"
    assert runs[0]["pipeline"] == "e2e"
    assert runs[0]["params"] == {"greeting": "hi"}
    assert runs[0]["started_at"].endswith("+00:00")
    assert isinstance(runs[0]["duration"], float)

    detail = show(tmp_path)
    assert [j["name"] for j in detail["jobs"]] == ["make", "use"]
    make, use = detail["jobs"]
    assert make["outputs"][0]["path"] == "out/a.txt"
    assert len(make["outputs"][0]["sha256"]) == 64
    assert use["metrics"] == {"acc": 0.5}
    assert use["attempt_history"][0]["exit_code"] == 0

    table = reefline(tmp_path, "runs").stdout
    # "just now" within 5 s; a loaded machine may take longer between the run and this command.
    assert re.search(r"^\s*1\s+e2e\s+1\s+success\s+(just now|\d+s ago|\dm ago)", table, re.MULTILINE), table
    text = reefline(tmp_path, "show", "1").stdout
    assert "run 1 · e2e · success" in text
    assert "acc = 0.5" in text

    logs = reefline(tmp_path, "logs", "last").stdout
    assert "make | made" in logs
    assert "use  | hi" in logs
    assert reefline(tmp_path, "logs", "1", "use").stdout.splitlines()[0] == "hi"
    assert "make | made" in reefline(tmp_path, "logs", "last", "-f").stdout  # finished: returns

    plan = reefline(tmp_path, "run", "--dry-run", "-p", "greeting=hi")
    assert plan.returncode == 0, plan.stderr
    assert re.search(r"^2\s+use\s+two\s+make\b", plan.stdout, re.MULTILINE), plan.stdout

    again = reefline(tmp_path, "run", "-p", "greeting=hi")
    assert again.returncode == 0
    assert again.stdout.splitlines()[-1].endswith("— 2 jobs: 2 cached")


def test_failed_run_exits_1_and_prints_the_log_tail(tmp_path: Path) -> None:
    write(tmp_path, FAIL_SPEC)
    result = reefline(tmp_path, "run")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "fail failed" in result.stdout
    assert "exit 3" in result.stdout
    assert "  log line 30" in result.stdout
    assert "  log line 10\n" not in result.stdout  # only the last 20 lines
    assert "see: reefline logs 1 fail" in result.stdout
    assert show(tmp_path)["state"] == "failed"

    (tmp_path / "reefline.yaml").write_text(FAIL_SPEC.replace("exit 3", "true"))
    retried = reefline(tmp_path, "retry", "last")
    assert retried.returncode == 1  # a retry runs the spec text of the run, which still fails
    assert "run 1 failed" in retried.stdout


def test_invalid_spec_exits_2_with_positions(tmp_path: Path) -> None:
    write(tmp_path, INVALID_SPEC)
    result = reefline(tmp_path, "run")
    assert result.returncode == 2
    assert re.search(r"reefline\.yaml:5:\d+: error: .*\[RL201\]", result.stderr), result.stderr
    assert "error: " in result.stderr.splitlines()[-1]


def test_unknown_run_is_a_usage_error(tmp_path: Path) -> None:
    write(tmp_path, OK_SPEC)
    assert reefline(tmp_path, "run").returncode == 0
    result = reefline(tmp_path, "show", "42")
    assert result.returncode == 2
    assert result.stderr.startswith("error: ")


def _start_slow_run(project: Path) -> subprocess.Popen[str]:
    write(project, SLOW_SPEC)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    proc = subprocess.Popen(
        [REEFLINE, "run"], cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    for line in proc.stdout:  # wait until the job runs
        if "sleepy running" in line:
            break
    # wait (however long the machine takes) until the job's shell has reached `sleep 60`
    deadline = time.monotonic() + 30
    while not any(_is_sleep(p) for p in _descendants(proc.pid)):
        assert time.monotonic() < deadline, "the job never reached `sleep`"
        assert proc.poll() is None, "the run ended early"
        time.sleep(0.05)
    return proc


def _ended(proc: subprocess.Popen[str], timeout: float = 30) -> tuple[str, str]:
    """The output of a run that must end by itself; one that hangs fails the test with every
    thread's stack (``kill -USR1``), what it was stuck in."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGUSR1)
        time.sleep(1)
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the run did not end within {timeout} s; its threads then:\n{err}\n{out}")


def _is_sleep(process: psutil.Process) -> bool:
    try:
        return process.name() == "sleep"
    except psutil.Error:
        return False


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _assert_gone(processes: list[psutil.Process]) -> None:
    _, alive = psutil.wait_procs(processes, timeout=10)
    alive = [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"left behind: {alive}"


@pytest.mark.slow
def test_ctrl_c_cancels_the_run(tmp_path: Path) -> None:
    proc = _start_slow_run(tmp_path)
    children = _descendants(proc.pid)
    assert children, "the job should be running"
    proc.send_signal(signal.SIGINT)
    out, err = _ended(proc)
    assert proc.returncode == 130, out + err
    assert "canceling" in err
    detail = show(tmp_path)
    assert detail["state"] == "canceled"
    assert detail["jobs"][0]["state"] == "canceled"
    _assert_gone(children)


@pytest.mark.slow
def test_sigterm_cancels_the_run_like_ctrl_c(tmp_path: Path) -> None:
    proc = _start_slow_run(tmp_path)
    children = _descendants(proc.pid)
    assert children, "the job should be running"
    proc.send_signal(signal.SIGTERM)
    out, err = _ended(proc)
    assert proc.returncode == 143, out + err
    assert show(tmp_path)["state"] == "canceled"
    _assert_gone(children)


@pytest.mark.slow
def test_cancel_from_another_process(tmp_path: Path) -> None:
    proc = _start_slow_run(tmp_path)
    children = _descendants(proc.pid)
    result = reefline(tmp_path, "cancel", "last")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "cancel requested for run 1"
    out, err = _ended(proc)
    assert proc.returncode == 1, out + err
    assert "run 1 canceled" in out
    assert show(tmp_path)["state"] == "canceled"
    _assert_gone(children)

    again = reefline(tmp_path, "cancel", "1")
    assert again.returncode == 2
    assert again.stderr.startswith("error: run 1 already finished")


# The job prints two ticks, then waits for the test to create `release` (at most 60 s), then ends.
TICKING_SPEC = """\
version: 1
name: ticking
jobs:
  ticker:
    script:
      - echo tick 1
      - echo tick 2
      - "for i in $(seq 1 1200); do [ -e release ] && break; sleep 0.05; done"
      - echo tick 3
      - echo tick 4
      - echo tick 5
"""


def test_logs_follow_streams_a_live_run_until_it_ends(tmp_path: Path) -> None:
    write(tmp_path, TICKING_SPEC)
    run = subprocess.Popen([REEFLINE, "run", "--plain"], cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    assert run.stdout is not None
    for line in run.stdout:
        if "ticker running" in line:
            break
    follow = subprocess.Popen(
        [REEFLINE, "logs", "last", "ticker", "-f"], cwd=tmp_path, stdout=subprocess.PIPE, text=True
    )
    assert follow.stdout is not None
    first = follow.stdout.readline()
    assert run.poll() is None, "the first line must arrive while the run is still going"
    (tmp_path / "release").touch()  # only now may the job end: no race with the machine's speed
    rest = follow.stdout.read()  # through the same buffer as readline(), unlike communicate()
    follow.wait(timeout=30)
    run.communicate(timeout=30)
    lines = [first, *rest.splitlines()]
    assert [line.strip() for line in lines if "tick" in line] == [f"tick {i}" for i in range(1, 6)]
    assert follow.returncode == 0


@pytest.mark.slow
def test_sigusr1_prints_every_threads_stack_and_the_run_goes_on(tmp_path: Path) -> None:
    proc = _start_slow_run(tmp_path)
    proc.send_signal(signal.SIGUSR1)
    time.sleep(0.5)
    assert proc.poll() is None, "SIGUSR1 must not stop the run"
    proc.send_signal(signal.SIGINT)
    out, err = _ended(proc)
    assert proc.returncode == 130, out + err
    assert "most recent call first" in err and "reefline/engine/runner.py" in err
    assert show(tmp_path)["state"] == "canceled"
