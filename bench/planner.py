"""Planner size: compile time, `run --dry-run` wall time and peak memory for large matrices.

Each shape is written to a fresh project; `compile s` is `compile_plan` alone (in a child process),
`dry-run s` and `peak RSS MB` are one `reefline run --dry-run` process (output to a file, its
rusage read with wait4), `lines` is how many lines that dry-run printed. With `--engine`,
`engine s` is the scheduler alone: the plan executed on the FakeExecutor (no processes, jobs
succeed at once, parallelism 8, SQLite), start to end of `RunExecution.execute`.

    .venv/bin/python bench/planner.py [--shapes matrix-5000,stages-2x2500,matrix-20000] [--engine]

Set PYTHONPATH to measure another source tree (e.g. a copy of the code before a change).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REEFLINE = Path(sys.executable).parent / "reefline"


def matrix_spec(n: int) -> str:
    """One job expanded n times (axes of 100 by n/100), in one stage."""
    a, b = 100, n // 100
    return f"""version: 1
name: matrix-{n}
jobs:
  train:
    matrix: {{a: [{", ".join(str(i) for i in range(a))}], b: [{", ".join(str(i) for i in range(b))}]}}
    script: ["echo ${{{{ matrix.a }}}}-${{{{ matrix.b }}}}"]
"""


def stages_spec(stages: int, width: int) -> str:
    """``stages`` stages of ``width`` expansions each; every job waits for the stages before it."""
    names = [f"s{i}" for i in range(stages)]
    a = ", ".join(str(k) for k in range(100))
    b = ", ".join(str(k) for k in range(width // 100))
    jobs = "".join(
        f"""  j{i}:
    stage: {name}
    matrix: {{a: [{a}], b: [{b}]}}
    script: ["echo ${{{{ matrix.a }}}}-${{{{ matrix.b }}}}"]
"""
        for i, name in enumerate(names)
    )
    return f"version: 1\nname: stages\nstages: [{', '.join(names)}]\njobs:\n{jobs}"


def paired_spec(n: int) -> str:
    """Two matrix jobs of n expansions each; each consumer reads its own producer's output (from:)."""
    values = ", ".join(str(k) for k in range(n))
    return f"""version: 1
name: paired
jobs:
  prepare:
    matrix: {{i: [{values}]}}
    script: ["echo ${{{{ matrix.i }}}} > d-${{{{ matrix.i }}}}.txt"]
    outputs: {{d: {{path: "d-${{{{ matrix.i }}}}.txt"}}}}
  train:
    matrix: {{i: [{values}]}}
    script: ["cat ${{{{ inputs.d.path }}}}"]
    inputs: {{d: {{from: prepare.d}}}}
"""


SHAPES = {
    "matrix-5000": lambda: matrix_spec(5000),
    "matrix-20000": lambda: matrix_spec(20000),
    "stages-2x2500": lambda: stages_spec(2, 2500),
    "stages-2x10000": lambda: stages_spec(2, 10000),
    "paired-2x5000": lambda: paired_spec(5000),
    "stages-4x5000": lambda: stages_spec(4, 5000),
}

COMPILE = """
import sys, time
from reefline.spec import load_spec, resolve_params
from reefline.plan.compiler import compile_plan
loaded = load_spec(open(sys.argv[1]).read(), sys.argv[1])
assert loaded.pipeline is not None, [d.format() for d in loaded.diagnostics]
t = time.perf_counter()
plan = compile_plan(loaded.pipeline, resolve_params(loaded.pipeline, {}))
print(time.perf_counter() - t, len(plan.steps))
"""


ENGINE = """
import sys, time
from pathlib import Path
from reefline.spec import load_spec, resolve_params
from reefline.plan.compiler import compile_plan
from reefline.engine.runner import RunExecution
from reefline.engine.events import NullObserver
from reefline.engine.states import JobState
from reefline.executors.fake import FakeExecutor
from reefline.store import repo
from reefline.store.db import open_database
loaded = load_spec(open(sys.argv[1]).read(), sys.argv[1])
plan = compile_plan(loaded.pipeline, resolve_params(loaded.pipeline, {}))
ws = Path(sys.argv[1]).parent
db = open_database(f"sqlite:///{ws / 'bench.db'}")
with db.begin() as conn:
    pipeline = repo.get_or_create_pipeline(conn, "bench", str(ws), 0.0)
    run_id = repo.create_run(conn, pipeline_id=pipeline, spec_text="", spec_path=str(ws), spec_hash="0" * 64,
        params={}, workspace=str(ws), options={}, trigger="bench", owner_host="h", owner_pid=0, now=0.0)
    job_ids = repo.create_jobs(conn, run_id, [
        {"name": s.id, "job": s.job, "stage": s.stage, "position": i, "matrix": {}, "needs": [],
         "state": "pending", "allow_failure": False} for i, s in enumerate(plan.steps)])
t = time.perf_counter()
states = dict.fromkeys(job_ids, JobState.PENDING)
RunExecution(db=db, run_id=run_id, plan=plan, job_ids=job_ids, states=states,
    attempts={}, workspace=ws, executor=FakeExecutor(), observer=NullObserver(), parallelism=8).execute()
print(time.perf_counter() - t)
"""


def _timed(argv: list[str], cwd: Path, env: dict[str, str], timeout: float) -> tuple[float, float, int, str]:
    """(wall s, peak RSS MB, exit code, stdout) of one child process."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                status = -1
                break
            time.sleep(0.02)
        proc.returncode = 0  # reaped by wait4 above
        wall = time.perf_counter() - start
        out.seek(0)
        text = out.read()
    code = os.waitstatus_to_exitcode(status) if status != -1 else -1
    return wall, usage.ru_maxrss / 1024, code, text


def measure(shape: str, timeout: float, engine: bool) -> dict[str, str]:
    env = {**os.environ, "REEFLINE_MAX_JOBS": "1000000", "COLUMNS": "160"}
    env.pop("REEFLINE_DATABASE_URL", None)
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "reefline.yaml").write_text(SHAPES[shape]())
        _, _, code, text = _timed(
            [sys.executable, "-c", COMPILE, str(project / "reefline.yaml")], project, env, timeout
        )
        compile_s, jobs = text.split()[-2:] if code == 0 else ("timeout" if code == -1 else "error", "?")
        wall, rss, code, text = _timed([str(REEFLINE), "run", "--dry-run"], project, env, timeout)
        extra = {}
        if engine:
            _, _, ecode, etext = _timed(
                [sys.executable, "-c", ENGINE, str(project / "reefline.yaml")], project, env, timeout
            )
            extra["engine s"] = f"{float(etext.split()[-1]):.2f}" if ecode == 0 else f"exit {ecode}"
    ok = code == 0
    return {
        "shape": shape,
        "jobs": jobs,
        "compile s": f"{float(compile_s):.2f}" if compile_s.replace(".", "").isdigit() else compile_s,
        "dry-run s": f"{wall:.2f}" if ok else ("timeout" if code == -1 else f"exit {code}"),
        "peak RSS MB": f"{rss:.0f}",
        "lines": str(text.count("\n")) if ok else "-",
    } | extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default="matrix-5000,stages-2x2500,matrix-20000")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per process")
    parser.add_argument("--engine", action="store_true", help="also time the scheduler (FakeExecutor)")
    args = parser.parse_args()
    rows = [measure(shape, args.timeout, args.engine) for shape in args.shapes.split(",")]
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(row[c].ljust(widths[c]) for c in columns), flush=True)


if __name__ == "__main__":
    main()
