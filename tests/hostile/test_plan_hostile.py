"""Hostile plans, through the installed ``reefline`` script: huge matrices and wide stages stay
bounded in time, memory and output; params that send a path out of the workspace are a located
error (``file:line:col``), exit 2, and nothing is written outside the workspace.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

REEFLINE = str(Path(sys.executable).with_name("reefline"))
HANG_GUARD = 60.0  # seconds; the 20,000-job dry-run takes ~1.5 s (bench/planner.py)
MEMORY_BOUND_MB = 500  # peak RSS; ~100 MB today, 1.8 GB for 2 x 2,500 before stage barriers


# Forks ``reefline`` from a small process and writes its peak RSS (KiB) to argv[1]. The kernel
# carries the spawning process's peak into the child's ru_maxrss, so a child of the test process
# itself would count whatever the tests before made this pytest worker grow to.
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_measured(cwd: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """The result, wall seconds and peak RSS (MB) of one ``reefline`` process (its own rusage, wait4)."""
    env = {k: v for k, v in os.environ.items() if k != "REEFLINE_DATABASE_URL"}
    env["REEFLINE_MAX_JOBS"] = "100000"  # the default limit (10,000) would refuse these on purpose
    start = time.monotonic()
    with (
        tempfile.TemporaryFile("w+") as out,
        tempfile.TemporaryFile("w+") as err,
        tempfile.TemporaryDirectory() as tmp,
    ):
        peak = Path(tmp) / "peak"
        argv = [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(peak), REEFLINE, *args]
        proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=out, stderr=err, text=True, start_new_session=True
        )
        guard = threading.Timer(HANG_GUARD, os.killpg, (proc.pid, signal.SIGKILL))  # a hang-guard only
        guard.start()
        try:
            proc.wait()
        finally:
            guard.cancel()
        wall = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        result = subprocess.CompletedProcess(proc.args[6:], proc.returncode, out.read(), err.read())
        assert wall < HANG_GUARD, f"`reefline {' '.join(args)}` was killed after {HANG_GUARD} s"
        rss_mb = int(peak.read_text()) / 1024
    return result, wall, rss_mb


def axis(n: int) -> str:
    return "[" + ", ".join(str(i) for i in range(n)) + "]"


def test_a_20000_job_matrix_dry_run_is_bounded_in_time_memory_and_output(tmp_path: Path) -> None:
    (tmp_path / "reefline.yaml").write_text(
        f"""version: 1
name: huge
jobs:
  train:
    matrix: {{a: {axis(100)}, b: {axis(200)}}}
    script: ["echo ${{{{ matrix.a }}}}"]
"""
    )
    result, wall, rss = run_measured(tmp_path, "run", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert wall < HANG_GUARD
    assert rss < MEMORY_BOUND_MB
    lines = result.stdout.splitlines()
    assert len(lines) < 20_010  # one line per job, a header and a summary
    assert lines[-1] == "20000 jobs: 20000 would run (dry run: nothing was started)"


def test_two_wide_stages_print_one_line_per_job_not_every_upstream(tmp_path: Path) -> None:
    (tmp_path / "reefline.yaml").write_text(
        f"""version: 1
name: wide
stages: [one, two]
jobs:
  a: {{stage: one, matrix: {{i: {axis(2500)}}}, script: ["true"]}}
  b: {{stage: two, matrix: {{i: {axis(2500)}}}, script: ["true"]}}
"""
    )
    result, wall, rss = run_measured(tmp_path, "run", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert wall < HANG_GUARD
    assert rss < MEMORY_BOUND_MB
    lines = result.stdout.splitlines()
    assert len(lines) < 5_010  # was 3.1M: every needs cell listed the 2,500 jobs of stage one
    row = next(line for line in lines if line.split()[1:2] == ["b[i=0]"])
    assert "after stage one" in row


ESCAPE = """version: 1
name: escape
params:
  d: out
  src: data.csv
jobs:
  make:
    script: ["mkdir -p ${{ params.d }} && echo pwned > ${{ params.d }}/pwned.txt"]
    inputs:
      data: {path: "${{ params.src }}"}
    outputs:
      out: {path: "${{ params.d }}/pwned.txt"}
"""


@pytest.mark.parametrize(
    ("param", "line"),
    [("d=../..", 12), ("d={tmp}/abs", 12), ("src=../../etc/passwd", 10)],
)
@pytest.mark.parametrize("dry_run", [False, True])
def test_a_param_sending_a_path_out_of_the_workspace_is_a_located_error_and_writes_nothing(
    tmp_path: Path, param: str, line: int, dry_run: bool
) -> None:
    workspace = tmp_path / "a" / "b" / "ws"
    workspace.mkdir(parents=True)
    (workspace / "reefline.yaml").write_text(ESCAPE)
    (workspace / "data.csv").write_text("x\n")
    before = sorted(p for p in tmp_path.rglob("*") if workspace not in (p, *p.parents))
    # an absolute path is one inside tmp_path, so that a write there would show below
    args = ["run", "-p", param.format(tmp=tmp_path), *(["--dry-run"] if dry_run else [])]
    result, _, _ = run_measured(workspace, *args)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output
    assert re.search(rf"reefline\.yaml:{line}:\d+: error: make: (input|output) '\w+' renders to", output), (
        output
    )
    assert "paths must stay inside the workspace [RL506]" in output
    after = sorted(p for p in tmp_path.rglob("*") if workspace not in (p, *p.parents))
    assert after == before
    assert not (workspace / ".reefline").exists()  # refused before anything is recorded or run


def test_validate_compiles_with_the_default_params_and_counts_jobs(tmp_path: Path) -> None:
    (tmp_path / "reefline.yaml").write_text(
        """version: 1
name: counted
jobs:
  prep: {script: ["true"]}
  train:
    matrix: {m: [a, b, c]}
    script: ["true"]
"""
    )
    result, _, _ = run_measured(tmp_path, "validate")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✓ reefline.yaml is valid (4 jobs from 2 definitions)" in result.stdout


def test_a_dry_run_in_a_project_that_never_ran_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "reefline.yaml").write_text(
        "version: 1\nname: fresh\njobs:\n  a:\n    script: [echo hi > out.txt]\n"
        "    outputs:\n      out: {path: out.txt, type: file}\n"
    )
    result, _, _ = run_measured(tmp_path, "run", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would run" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reefline.yaml"]
