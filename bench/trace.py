"""Trace speed: a 10-frame ``reefline trace`` over a synthetic history, on SQLite and PostgreSQL.

The history has ``--attempts`` job attempts (default 100,000 for a quick run; the issue's size is
1,000,000: ``--attempts 1000000``), in runs of a 10-job chain spread over 20 pipelines. Each job
writes one output and reads the previous job's output by content hash only (no ``producer_job_id``),
so every link is the cross-run lookup on ``outputs.sha256``; every other run is entirely cached from
the one before (same bytes, ``cached_from_job_id``). Timed: resolving a sha256 prefix and the whole
backtrace of the last job of a random run (10 frames), and ``--forward`` from its first input.
Every run that really ran also has a component run (the SDK) reading the chain's last output and
tagging ``prediction-<run>`` with ``reefline.log_output``: the lookups of component producers run on
every link, and ``reefline trace prediction-<run>`` (11 frames: the component, then the 10 jobs) is
timed too.

    .venv/bin/python bench/trace.py [--attempts 100000] [--traces 50] [--postgres URL]

Measured 2026-12-02 (2 shared cores, 1,000,000 attempts, 30 traces): SQLite median 2.4 ms (p95 3.2),
PostgreSQL median 25.8 ms (p95 39.9); ``--forward`` 1.6 / 12.5 ms.
Measured 2026-12-03 with the component runs, on the same 2 cores under a load average of 7-10 (other
test suites running; figures of this day compare only with each other): 1,000,000 attempts, 30
traces, SQLite 16.0 ms (p95 29.5), prediction trace 12.0 ms; PostgreSQL 114.7 ms (p95 207.6),
prediction trace 64.6 ms. The same-load comparison at 100,000 attempts, before and after the
component lookups: SQLite 20.7 -> 17.2 ms, PostgreSQL 103.9 -> 108.7 ms (the load's noise).

PostgreSQL: ``--postgres`` or REEFLINE_TEST_POSTGRES_URL (a server URL; a fresh database is created
and dropped); without either, SQLite only.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _postgres import fresh_database  # bench/ is on sys.path when a script here runs
from sqlalchemy import Engine

from reefline.lineage import trace
from reefline.store.db import open_database
from reefline.store.tables import (
    attempts,
    component_artifacts,
    component_runs,
    components,
    inputs,
    jobs,
    outputs,
    pipelines,
    runs,
)

CHAIN = 10
PIPELINES = 20
BATCH = 20_000


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _rows(run_count: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table, row) of the whole history, in insert order."""
    for p in range(1, PIPELINES + 1):
        yield "pipelines", {"id": p, "name": f"p{p}", "source_path": f"/src/p{p}.yaml", "created_at": 0.0}
    yield "components", {"id": 1, "scope": "", "name": "predict", "kind": "model", "created_at": 0.0}
    job_id = 0
    for r in range(1, run_count + 1):
        cached = r % 2 == 0  # a re-run of run r-1: the same bytes, all cached
        made_in = r - 1 if cached else r
        at = 1_000_000.0 + r * 60
        yield "runs", {
            "id": r, "pipeline_id": (made_in - 1) // 2 % PIPELINES + 1, "state": "success", "trigger": "cli",
            "spec_text": "jobs: {}", "spec_path": "/src/p.yaml", "spec_hash": "0" * 64, "params": {"seed": r},
            "workspace": "/src", "options": {}, "created_at": at, "cancel_requested": False,
            "git_commit": _sha(str(made_in))[:40], "git_branch": "main", "git_dirty": False,
        }  # fmt: skip
        for k in range(CHAIN):
            job_id += 1
            yield "jobs", {
                "id": job_id, "run_id": r, "name": f"step{k}", "job": f"step{k}", "stage": "s", "position": k,
                "matrix": {}, "needs": [], "state": "cached" if cached else "success", "attempts": 1,
                "allow_failure": False, "cache_key": _sha(f"key{made_in}:{k}"),
                "cached_from_job_id": job_id - CHAIN if cached else None, "definition_hash": _sha(f"def{k}"),
                "started_at": at, "finished_at": at + k,
            }  # fmt: skip
            yield "attempts", {"job_id": job_id, "number": 1, "state": "success", "started_at": at}
            out = _sha(f"{made_in}:{k}")
            yield "outputs", {"job_id": job_id, "name": "out", "path": f"out/{k}", "type": "file",
                              "sha256": out, "size": 1, "attempt": 1, "recorded_at": at + k}  # fmt: skip
            source = _sha(f"{made_in}:{k - 1}") if k else _sha(f"raw{made_in}")
            yield "inputs", {"job_id": job_id, "name": "in", "path": f"in/{k}", "type": "file",
                             "sha256": source, "size": 1}  # fmt: skip
        if not cached:
            yield "component_runs", {
                "id": r, "component_id": 1, "status": "success", "started_at": at + CHAIN,
                "finished_at": at + CHAIN + 1, "workspace": "/src",
            }  # fmt: skip
            last = _sha(f"{r}:{CHAIN - 1}")
            for direction, path, kind, sha, label in (
                ("in", f"out/{CHAIN - 1}", "file", last, None),
                ("out", None, "label", None, f"prediction-{r}"),
            ):
                yield "component_artifacts", {
                    "run_id": r, "direction": direction, "path": path, "kind": kind, "sha256": sha,
                    "size": None if sha is None else 1, "label": label,
                }  # fmt: skip


def build(engine: Engine, attempt_count: int) -> int:
    parents_first = (
        pipelines,
        runs,
        jobs,
        attempts,
        outputs,
        inputs,
        components,
        component_runs,
        component_artifacts,
    )
    tables = {t.name: t for t in parents_first}
    run_count = max(2, attempt_count // CHAIN)
    pending: dict[str, list[dict[str, Any]]] = {name: [] for name in tables}

    def flush() -> None:
        with engine.begin() as conn:
            for name, table in tables.items():  # parents first
                if pending[name]:
                    conn.execute(table.insert(), pending[name])
                    pending[name].clear()

    for n, (table, row) in enumerate(_rows(run_count)):
        pending[table].append(row)
        if n % BATCH == BATCH - 1:
            flush()
    flush()
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    return run_count


def measure(engine: Engine, run_count: int, count: int) -> dict[str, float]:
    rng = random.Random(7)
    back: list[float] = []
    fwd: list[float] = []
    logged: list[float] = []
    workspace = Path(tempfile.gettempdir())
    for _ in range(count):
        r = rng.randrange(1, run_count + 1)
        made_in = r - 1 if r % 2 == 0 else r
        with engine.connect() as conn:
            t0 = time.perf_counter()
            target = trace.resolve(conn, workspace, _sha(f"{made_in}:{CHAIN - 1}")[:12])
            found = trace.backtrace(conn, target)
            back.append(time.perf_counter() - t0)
            assert len(found.frames) == CHAIN, len(found.frames)
            t0 = time.perf_counter()
            trace.forward(conn, trace.resolve(conn, workspace, _sha(f"{made_in}:0")[:12]), depth=2)
            fwd.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            found = trace.backtrace(conn, trace.resolve(conn, workspace, f"prediction-{made_in}"))
            logged.append(time.perf_counter() - t0)
            assert len(found.frames) == CHAIN + 1, len(found.frames)
    return {
        "back_median_ms": statistics.median(back) * 1000,
        "back_p95_ms": sorted(back)[int(len(back) * 0.95) - 1] * 1000,
        "forward_median_ms": statistics.median(fwd) * 1000,
        "logged_median_ms": statistics.median(logged) * 1000,
    }


def _one(label: str, url: str, attempt_count: int, count: int) -> list[str]:
    engine = open_database(url)
    try:
        t0 = time.perf_counter()
        run_count = build(engine, attempt_count)
        built = time.perf_counter() - t0
        figures = measure(engine, run_count, count)
    finally:
        engine.dispose()
    return [
        label,
        f"{run_count * CHAIN:,}",
        f"{built:.0f} s",
        f"{figures['back_median_ms']:.1f}",
        f"{figures['back_p95_ms']:.1f}",
        f"{figures['forward_median_ms']:.1f}",
        f"{figures['logged_median_ms']:.1f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--attempts", type=int, default=100_000, help="job attempts (issue's size: 1000000)")
    parser.add_argument("--traces", type=int, default=50, help="traces timed per database (default 50)")
    parser.add_argument("--postgres", help="a PostgreSQL server URL (default: REEFLINE_TEST_POSTGRES_URL)")
    args = parser.parse_args()
    table = [
        [
            "database",
            "attempts",
            "build",
            "10-frame trace median ms",
            "p95 ms",
            "forward median ms",
            "prediction trace ms",
        ]
    ]
    with tempfile.TemporaryDirectory(prefix="reefline-bench-trace-") as tmp:
        table.append(_one("sqlite", f"sqlite:///{tmp}/bench.db", args.attempts, args.traces))
    server = args.postgres or os.environ.get("REEFLINE_TEST_POSTGRES_URL")
    if server:
        with fresh_database(server) as url:
            table.append(_one("postgresql", url, args.attempts, args.traces))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print(
            "  ".join(
                cell.rjust(w) if i else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )


if __name__ == "__main__":
    main()
