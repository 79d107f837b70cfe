"""Per-job overhead of LocalExecutor against bare subprocess spawning.

    .venv/bin/python bench/executor_overhead.py [--jobs 300]

Budget (ARCHITECTURE / engine brief): the executor may add < 3 ms per job over bare spawning.
``local`` runs ``bash --noprofile --norc -eo pipefail -c true`` (what a one-line script compiles to),
so the fair baseline is ``subprocess.run(["bash", "-c", "true"])``; ``sh -c true`` shows how much
of the time is bash itself. Threads: jobs split over N threads, wall time divided by job count.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from reefline.executors.base import StepContext, Stream
from reefline.executors.local import LocalExecutor
from reefline.plan.ir import PythonCommand, ShellCommand, Step


def _sink(stream: Stream, ts: float, line: str) -> None:
    pass


def timed(job: Callable[[], object], jobs: int, threads: int) -> float:
    """Milliseconds of wall time per job."""
    per_thread = [jobs // threads + (1 if i < jobs % threads else 0) for i in range(threads)]

    def work(n: int) -> None:
        for _ in range(n):
            job()

    workers = [threading.Thread(target=work, args=(n,)) for n in per_thread]
    t0 = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return (time.perf_counter() - t0) * 1000 / jobs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--python", action="store_true", help="also time a PythonCommand job")
    args = parser.parse_args()

    workspace = Path(tempfile.mkdtemp(prefix="reefline-bench-"))
    (workspace / "bench_mod.py").write_text("def noop():\n    pass\n")
    ctx = StepContext(run_id=1, attempt=1, workspace=workspace, env=dict(os.environ))
    executor = LocalExecutor()
    shell = Step(id="t", job="t", stage="b", command=ShellCommand(("true",)), env=(), needs=())
    python = Step(id="p", job="p", stage="b", command=PythonCommand("bench_mod:noop"), env=(), needs=())

    def local_job(step: Step = shell) -> None:
        handle = executor.start(step, ctx, _sink)
        result = executor.wait(handle)
        executor.destroy(handle)
        assert result.ok, result

    cases: list[tuple[str, Callable[[], object]]] = [
        ("bare subprocess.run bash -c true", lambda: subprocess.run(["bash", "-c", "true"], check=True)),
        ("bare subprocess.run sh -c true", lambda: subprocess.run(["sh", "-c", "true"], check=True)),
        ("LocalExecutor bash script 'true'", local_job),
    ]
    if args.python:
        cases += [
            (
                "bare subprocess.run python -c pass",
                lambda: subprocess.run([sys.executable, "-c", "pass"], check=True),
            ),
            ("LocalExecutor PythonCommand noop", lambda: local_job(python)),
        ]
    for _, job in cases:  # warm up caches and the page cache
        for _ in range(10):
            job()
    print(f"{args.jobs} jobs, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(f"{'case':40} {'1 thread':>12} {'2 threads':>12}")
    for label, job in cases:
        jobs = args.jobs if "python" not in label.lower() else max(args.jobs // 5, 20)
        seq = timed(job, jobs, 1)
        par = timed(job, jobs, 2)
        print(f"{label:40} {seq:9.3f} ms {par:9.3f} ms")


if __name__ == "__main__":
    main()
