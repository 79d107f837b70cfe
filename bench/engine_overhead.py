"""Engine overhead: `reefline run` on trivial jobs against bare subprocess spawning, same machine, same run.

Workloads: a fan-out of 1000 `true` jobs, a chain of 100, and 10 layers of 10 (each job needs every
job of the layer before). Both sides run the same command per job (`bash --noprofile --norc -eo
pipefail -c true`) with the same parallelism; the baseline is a ThreadPoolExecutor that starts a job
as soon as its needs are done.

- overhead/job = (reefline wall - baseline wall) / jobs: everything, start-up included;
- start-up = reefline wall - baseline wall on a 1-job pipeline (interpreter, imports, database, plan);
- engine/job = (overhead - start-up) / jobs: what each job adds once Reefline is up (the target: <= 3 ms).

    .venv/bin/python bench/engine_overhead.py [--jobs 2] [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

REEFLINE = Path(sys.executable).parent / "reefline"
JOB = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", "true"]
Graph = dict[str, list[str]]


def fanout(n: int) -> Graph:
    return {f"t{i}": [] for i in range(n)}


def chain(n: int) -> Graph:
    return {f"t{i}": [f"t{i - 1}"] if i else [] for i in range(n)}


def layers(depth: int, width: int) -> Graph:
    return {
        f"t{layer}_{i}": [f"t{layer - 1}_{j}" for j in range(width)] if layer else []
        for layer in range(depth)
        for i in range(width)
    }


def bare(graph: Graph, parallelism: int) -> float:
    """Spawn every job with subprocess, starting each as soon as its needs finished."""
    remaining = {name: set(needs) for name, needs in graph.items()}
    downstream: dict[str, list[str]] = {name: [] for name in graph}
    for name, needs in graph.items():
        for up in needs:
            downstream[up].append(name)
    lock = threading.Lock()
    start = time.perf_counter()
    with ThreadPoolExecutor(parallelism) as pool:
        futures: dict[Future[int], str] = {}

        def submit(name: str) -> None:
            futures[pool.submit(lambda: subprocess.run(JOB, check=True).returncode)] = name

        for name in [n for n, needs in remaining.items() if not needs]:
            submit(name)
        while futures:
            done, _ = wait(list(futures), return_when=FIRST_COMPLETED)
            for future in done:
                name = futures.pop(future)
                future.result()
                with lock:
                    for down in downstream[name]:
                        remaining[down].discard(name)
                        if not remaining[down]:
                            submit(down)
    return time.perf_counter() - start


def reefline(graph: Graph, parallelism: int, db_dir: Path) -> float:
    with tempfile.TemporaryDirectory(prefix="reefline-bench-") as tmp:
        spec = {
            "version": 1,
            "name": "bench",
            "jobs": {n: {"needs": d, "script": ["true"]} for n, d in graph.items()},
        }
        Path(tmp, "reefline.yaml").write_text(json.dumps(spec))
        env = {**os.environ, "REEFLINE_DATABASE_URL": f"sqlite:///{db_dir / 'bench.db'}"}
        start = time.perf_counter()
        proc = subprocess.run(
            [str(REEFLINE), "run", "-j", str(parallelism)],
            check=False,
            cwd=tmp,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"reefline run failed ({proc.returncode}):\n{proc.stderr}")
        return wall


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", "-j", type=int, default=2, help="parallelism on both sides (default 2)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions; medians are reported")
    args = parser.parse_args()
    workloads = {
        "single job": fanout(1),
        "fan-out 1000": fanout(1000),
        "chain 100": chain(100),
        "layers 10x10": layers(10, 10),
    }
    header = f"{'workload':<14} {'jobs':>5} {'bare s':>8} {'reefline s':>11} {'overhead ms/job':>16}"
    print(header + f" {'engine ms/job':>14}")
    with tempfile.TemporaryDirectory(prefix="reefline-bench-db-") as db_dir:
        reefline(fanout(1), args.jobs, Path(db_dir))  # warm-up: creates the database, compiles .pyc
        startup = 0.0
        for label, graph in workloads.items():
            bare_walls, reef_walls = [], []
            for _ in range(args.reps):
                bare_walls.append(bare(graph, args.jobs))
                reef_walls.append(reefline(graph, args.jobs, Path(db_dir)))
            b, r = statistics.median(bare_walls), statistics.median(reef_walls)
            n = len(graph)
            if n == 1:
                startup = r - b
                print(f"{label:<14} {n:>5} {b:>8.3f} {r:>11.3f} {'start-up':>16} {startup * 1000:>11.0f} ms")
                continue
            engine = (r - b - startup) / n * 1000
            print(f"{label:<14} {n:>5} {b:>8.2f} {r:>11.2f} {(r - b) / n * 1000:>16.2f} {engine:>14.2f}")


if __name__ == "__main__":
    main()
