"""Server CPU per read request: a figure that does not depend on what else the machine is doing.

A real ``reefline server`` (on SQLite, and on PostgreSQL with ``--postgres``) gets a run of 20 jobs
and some history; then an API-only server on the same database answers ``--requests`` sequential
requests of each read route, and the server process's own CPU time (user + system, from
``/proc/<pid>/stat``) is divided by the number of requests. The client's work is not in it, nor is
the wall time other processes take from us. Also measured, with API and engine in one process:
run start, a run's ``created_at`` to its first job's ``started_at`` (both stamped by the server).

    .venv/bin/python bench/api_cpu.py [--requests 200] [--rounds 5] [--postgres [URL]] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import httpx
from _postgres import fresh_database  # bench/ is on sys.path when a script here runs

from reefline.client import Client
from reefline.services import accounts
from reefline.services.audit import Actor
from reefline.services.timefmt import from_iso
from reefline.store.db import open_database

REEFLINE = Path(sys.executable).parent / "reefline"
POSTGRES = os.environ.get(
    "REEFLINE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
TICKS = os.sysconf("SC_CLK_TCK")
JOBS = 20
QUICK = 'version: 1\nname: quick\nboard: bench\njobs:\n  one:\n    script: "true"\n'


def wide_spec(jobs: int = JOBS) -> str:
    """Four stages of ``jobs / 4`` jobs, each printing a few lines and writing an output."""
    out = ["version: 1", "name: wide", "board: bench", "stages: [a, b, c, d]", "jobs:"]
    for i in range(jobs):
        out += [
            f"  j{i:02d}:",
            f"    stage: {'abcd'[i * 4 // jobs]}",
            f"    script: mkdir -p out && for k in 1 2 3 4 5; do echo line $k of {i}; done > out/{i}.txt"
            f" && cat out/{i}.txt",
            "    outputs:",
            f"      o: {{path: out/{i}.txt, type: text}}",
        ]
    return "\n".join(out) + "\n"


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _server(url: str, home: Path, role: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = _free_port()
    env = {**os.environ, "REEFLINE_HOME": str(home), "REEFLINE_DATABASE_URL": url}
    log = home.parent / f"server-{role}.log"  # a file, not a pipe: nobody reads it while we measure
    process = subprocess.Popen(
        [str(REEFLINE), "server", "--port", str(port), "--job-slots", "2", "--role", role],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{base}/api/health", timeout=1).raise_for_status()
            break
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                output = log.read_text(errors="replace")[-4000:]
                raise SystemExit(f"the server did not start: {output}") from None
            time.sleep(0.1)
    try:
        yield base, process
    finally:
        process.terminate()
        process.wait(30)


def _seed_accounts(url: str) -> str:
    db = open_database(url)
    with db.begin() as conn:
        user = accounts.create_user(conn, Actor.system(), "bench", password="bench-password", is_admin=False)
        _, token = accounts.create_token(conn, Actor.system(), user.id, "bench")
        accounts.create_team(conn, Actor.system(), "lab", owner="bench")
    db.dispose()
    return token


def _start_latency(api: Client, run_id: int) -> float:
    detail = api.wait(run_id, timeout=120, poll=0.1)
    started = [
        from_iso(a["started_at"]) for job in detail["jobs"] for a in job["attempt_history"] if a["started_at"]
    ]
    return min(s for s in started if s is not None) - (from_iso(detail["created_at"]) or 0.0)


def _seed_runs(base: str, token: str, starts: int) -> tuple[int, list[float]]:
    """The wide run (to read) and the start latencies of ``starts`` quick runs, one after the other."""
    with Client(base, token) as api:
        api.request("POST", "/teams/lab/boards", json={"name": "bench"})
        api.push("lab", wide_spec())
        api.push("lab", QUICK)
        wide = api.start_run("lab", "wide")["id"]
        done = api.wait(wide, timeout=300)
        if done["state"] != "success":
            raise SystemExit(f"the seeded run ended {done['state']}: {done.get('reason')}")
        latencies = []
        for _ in range(starts):
            latencies.append(_start_latency(api, api.start_run("lab", "quick")["id"]))
        for _ in range(max(0, 20 - starts)):  # history to list
            api.wait(api.start_run("lab", "quick")["id"], poll=0.1)
    return wide, latencies


def _routes(run_id: int) -> dict[str, str]:
    return {
        "run detail": f"/api/runs/{run_id}",
        "runs list": "/api/teams/lab/runs?limit=20",
        "pipelines list": "/api/teams/lab/pipelines",
        "logs page": f"/api/runs/{run_id}/logs?limit=200",
        "health": "/api/health",
    }


def _cpu_per_request(base: str, pid: int, token: str, path: str, n: int) -> float:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
        for _ in range(20):  # warm: connection, caches, first compilations
            http.get(path).raise_for_status()
        before = _cpu_seconds(pid)
        for _ in range(n):
            http.get(path).raise_for_status()
        used = _cpu_seconds(pid) - before
    return 1000 * used / n


def measure(url: str, requests: int, starts: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        token = _seed_accounts(url)
        with _server(url, home, "all") as (base, _):
            try:
                run_id, latencies = _seed_runs(base, token, starts)
            except BaseException:
                sys.stderr.write((Path(tmp) / "server-all.log").read_text(errors="replace")[-4000:])
                raise
        cpu: dict[str, float] = {}
        with _server(url, home, "api") as (base, process):  # no engine beside it: nothing else uses CPU
            for name, path in _routes(run_id).items():
                # the best of the rounds: on a busy machine a round's CPU time swells with the others'
                # load (caches, shared cores), and the least disturbed round is the server's own cost
                cpu[name] = min(
                    _cpu_per_request(base, process.pid, token, path, requests) for _ in range(rounds)
                )
    return {
        "cpu_ms_per_request": cpu,
        "run_start_ms": {"p50": 1000 * statistics.median(latencies), "max": 1000 * max(latencies)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="sequential requests per route and round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per route (the best one counts)")
    parser.add_argument(
        "--starts", type=int, default=10, help="runs started one by one for the start latency"
    )
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=POSTGRES,
        default=None,
        help="also on PostgreSQL (a throwaway database there)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    backends: list[tuple[str, Any]] = [("sqlite", nullcontext(None))]
    if args.postgres:
        backends.append(("postgresql", fresh_database(args.postgres)))
    for name, context in backends:
        with context as pg_url, tempfile.TemporaryDirectory() as tmp:
            url = pg_url or f"sqlite:///{Path(tmp) / 'reefline.db'}"
            results[name] = measure(url, args.requests, args.starts, args.rounds)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(
        f"Server CPU per request ({args.requests} sequential requests, best of {args.rounds} rounds),"
        f" run of {JOBS} jobs"
    )
    names = list(next(iter(results.values()))["cpu_ms_per_request"])
    print(f"  {'route':<16}" + "".join(f"{b:>14}" for b in results))
    for route in names:
        print(
            f"  {route:<16}" + "".join(f"{r['cpu_ms_per_request'][route]:11.2f} ms" for r in results.values())
        )
    for backend, r in results.items():
        s = r["run_start_ms"]
        print(
            f"  start ({backend}): p50 {s['p50']:.0f} ms, max {s['max']:.0f} ms (created → first job running)"
        )


if __name__ == "__main__":
    main()
