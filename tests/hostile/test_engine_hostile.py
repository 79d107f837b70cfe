"""Hostile jobs, each through the installed ``reefline`` script: the run always ends, in bounded time
and memory, with a clear reason, and nothing is written outside the workspace.

Cases: dangling and escaping symlinks in outputs, deeply nested and NaN metrics, binary garbage on
stdout, a 50 MB log flood, a script over 128 KiB, a process that escapes its job with ``setsid``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psutil
import pytest

REEFLINE = str(Path(sys.executable).with_name("reefline"))
TIMEOUT = 120  # a hang-guard: every case takes seconds


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in ("REEFLINE_DATABASE_URL", "CI")}
    return {**base, **(extra or {})}


def reefline(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [REEFLINE, *args],
        cwd=cwd,
        env=_env(env),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    folder.mkdir()
    (tmp_path / "outside.txt").write_text("not yours\n")
    return folder


@pytest.fixture(autouse=True)
def _nothing_written_outside(tmp_path: Path) -> object:
    yield
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outside.txt", "ws"]
    assert (tmp_path / "outside.txt").read_text() == "not yours\n"


def _spec(workspace: Path, jobs: str) -> None:
    (workspace / "reefline.yaml").write_text(f"version: 1\nname: hostile\njobs:\n{jobs}")


def _job(workspace: Path, name: str) -> dict[str, object]:
    shown = json.loads(reefline(workspace, "show", "last", "--json").stdout)
    jobs = {j["name"]: j for j in shown["jobs"]}
    job: dict[str, object] = jobs[name]
    return job


def test_a_dangling_symlink_in_a_directory_output_is_fine(workspace: Path) -> None:
    _spec(
        workspace,
        '  links:\n    script: ["mkdir -p out", "ln -s missing out/dangling", "ln -s . out/self"]\n'
        "    outputs: {out: {path: out, type: directory}}\n",
    )
    result = reefline(workspace, "run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert os.readlink(workspace / "out" / "dangling") == "missing"
    second = reefline(workspace, "run")
    assert second.returncode == 0 and _job(workspace, "links")["state"] == "cached"


def test_a_symlink_out_of_the_workspace_fails_the_job_naming_it(workspace: Path) -> None:
    _spec(
        workspace,
        '  leak:\n    script: ["mkdir -p out", "ln -s ../../outside.txt out/leak", "ln -s /nowhere out/x"]\n'
        "    outputs: {out: {path: out, type: directory}}\n",
    )
    result = reefline(workspace, "run")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    reason = str(_job(workspace, "leak")["reason"])
    assert "points outside the workspace" in reason and "out/" in reason, reason


def test_metrics_nested_3000_levels_fail_the_job_quickly(workspace: Path) -> None:
    (workspace / "deep.json").write_text("[" * 3000 + "]" * 3000)
    _spec(workspace, '  m:\n    script: ["cp deep.json metrics.json"]\n    metrics: metrics.json\n')
    started = time.monotonic()
    result = reefline(workspace, "run")
    assert result.returncode == 1, result.stdout + result.stderr
    assert time.monotonic() - started < 60
    assert "nested 3000 levels deep; the limit is 64" in str(_job(workspace, "m")["reason"])


def test_nan_metrics_are_reported_in_the_log_not_dropped_silently(workspace: Path) -> None:
    _spec(
        workspace,
        """  m:\n    script: ["echo '{\\"acc\\": 0.5, \\"loss\\": NaN}' > metrics.json"]\n"""
        "    metrics: metrics.json\n",
    )
    result = reefline(workspace, "run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert _job(workspace, "m")["metrics"] == {"acc": 0.5}
    assert "'loss' is NaN; not recorded" in reefline(workspace, "logs", "last", "m").stdout


def test_binary_garbage_on_stdout_is_stored_and_shown(workspace: Path) -> None:
    _spec(workspace, '  bin:\n    script: ["head -c 200000 /dev/urandom", "echo; echo end"]\n')
    result = reefline(workspace, "run")
    assert result.returncode == 0, result.stdout + result.stderr
    logs = reefline(workspace, "logs", "last", "bin")
    assert logs.returncode == 0 and logs.stdout.rstrip().endswith("end")


def _peak_rss_mb(proc: subprocess.Popen[bytes]) -> float:
    peak = 0
    while proc.poll() is None:
        try:
            for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            break
        time.sleep(0.05)
    return peak / 1024


def test_a_50_mb_flood_is_capped_with_a_marker_and_kept_whole(workspace: Path) -> None:
    pad = "x" * 92
    _spec(workspace, f"  loud:\n    script: [\"seq -f '%07.0f {pad}' 1 500000\"]\n")  # 500,000 lines, 50 MB
    proc = subprocess.Popen(
        [REEFLINE, "run"], cwd=workspace, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    peak: list[float] = []
    sampler = threading.Thread(target=lambda: peak.append(_peak_rss_mb(proc)))
    sampler.start()
    assert proc.wait(timeout=TIMEOUT) == 0
    sampler.join()
    assert peak[0] < 200, f"engine peak RSS {peak[0]:.0f} MB"  # a guard; bench/logs.py measures it
    stored = reefline(workspace, "logs", "last", "loud").stdout.splitlines()
    assert len(stored) == 100_001
    assert stored[49_999] == f"0050000 {pad}" and stored[-1] == f"0500000 {pad}"
    assert stored[50_000].startswith("… 400000 lines omitted (the whole log: reefline logs 1 loud --full)")
    full = subprocess.run(
        [REEFLINE, "logs", "last", "loud", "--full"],
        cwd=workspace, env=_env(), capture_output=True, timeout=TIMEOUT, check=True,
    )  # fmt: skip
    lines = full.stdout.split(b"\n")
    assert len(lines) == 500_001 and lines[0] == f"0000001 {pad}".encode()
    assert lines[-2] == f"0500000 {pad}".encode()


def test_a_script_over_128_kib_runs(workspace: Path) -> None:
    lines = ", ".join(f'"v{i}={"x" * 100}"' for i in range(1500))
    _spec(workspace, f'  big:\n    script: [{lines}, "echo done"]\n')
    assert (workspace / "reefline.yaml").stat().st_size > 128 * 1024
    result = reefline(workspace, "run")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert reefline(workspace, "logs", "last", "big").stdout.strip() == "done"


def test_a_process_that_escapes_with_setsid_is_killed_when_its_job_ends(workspace: Path) -> None:
    marker = uuid.uuid4().hex
    _spec(workspace, '  escape:\n    script: ["setsid sleep 300 > /dev/null 2>&1 &", "echo started"]\n')
    result = reefline(workspace, "run", env={"HOSTILE_MARKER": marker})
    assert result.returncode == 0, result.stdout + result.stderr
    deadline = time.monotonic() + 5
    while True:
        alive = []
        for p in psutil.process_iter():
            try:
                if p.status() != psutil.STATUS_ZOMBIE and p.environ().get("HOSTILE_MARKER") == marker:
                    alive.append(p)
            except psutil.Error:
                continue
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for p in alive:
        p.kill()
    assert alive == [], "the setsid escapee outlived its job"


def test_a_fifo_as_an_output_fails_the_job_instead_of_blocking_the_hasher(workspace: Path) -> None:
    _spec(
        workspace,
        '  pipes:\n    script: ["mkfifo out.txt", "mkdir -p dir", "mkfifo dir/p"]\n'
        "    outputs: {out: {path: out.txt}, dir: {path: dir, type: directory}}\n",
    )
    result = reefline(workspace, "run")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "not a regular file" in str(_job(workspace, "pipes")["reason"])
