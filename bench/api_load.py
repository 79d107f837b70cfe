"""API load: a real `reefline server` on PostgreSQL, driven by concurrent clients on this machine.

Measures, in one run:

- reads: ``--clients`` concurrent clients alternate ``GET /api/runs/{id}`` and
  ``GET /api/teams/lab/runs`` (flat out, then about ``--think`` seconds apart)
  for ``--seconds``; p50, p99 and requests/s;
- the same while a job prints 10 MB of logs, stored (capped as configured) and followed over SSE
  by a process of its own, as another user's browser would (parsing 50,000 events in the load
  generator's process would delay its own clock readings and count that as server latency); and,
  of those reads, the ones sent between the run's start and the follower's last line;
- run start: POST of a run → its first job running (the job's ``started_at`` minus the run's
  ``created_at``, both written by the server; and as the client sees it over SSE);
- SSE delivery: a job prints its clock every 50 ms; the follower's clock at arrival minus it;
- lost lines: every line of the 10 MB flood arrives over SSE exactly once, in order.

The clients share the server's 2 cores: the figures include their cost. Needs PostgreSQL
(``REEFLINE_BENCH_POSTGRES_URL``, default the machine's); the server's data goes to a temp folder.

    .venv/bin/python bench/api_load.py [--clients 50] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import httpx
from _lean_http import LeanConnection, run, sse_events  # bench/ is on sys.path when a script here runs
from _postgres import fresh_database

from reefline.client import Client
from reefline.services import accounts
from reefline.services.audit import Actor
from reefline.services.timefmt import from_iso
from reefline.store.db import open_database

REEFLINE = Path(sys.executable).parent / "reefline"
POSTGRES = os.environ.get(
    "REEFLINE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
FLOOD_LINES = 50_000  # x 200 bytes = 10 MB

SPEC_QUICK = """\
version: 1
name: quick
board: bench
jobs:
  one:
    script: "true"
"""

SPEC_FLOOD = """\
version: 1
name: flood
board: bench
jobs:
  flood:
    script: python3 -c "import sys; [print(f'{i:08d}' + 'x' * 191) for i in range(LINES)]"
""".replace("LINES", str(FLOOD_LINES))

SPEC_TICKER = """\
version: 1
name: ticker
board: bench
jobs:
  tick:
    script: python3 -u -c "import time; [(print(repr(time.time())), time.sleep(0.05)) for _ in range(100)]"
"""


def _free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _server(url: str, home: Path) -> Any:
    db = open_database(url)
    with db.begin() as conn:
        user = accounts.create_user(conn, Actor.system(), "bench", password="bench-password", is_admin=True)
        _, token = accounts.create_token(conn, Actor.system(), user.id, "bench")
        accounts.create_team(conn, Actor.system(), "lab", owner="bench")
    db.dispose()
    port = _free_port()
    env = {**os.environ, "REEFLINE_HOME": str(home), "REEFLINE_DATABASE_URL": url}
    process = subprocess.Popen(
        [str(REEFLINE), "server", "--port", str(port), "--job-slots", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{base}/api/health", timeout=1).raise_for_status()
            break
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stderr.read().decode() if process.stderr else ""
                raise SystemExit(f"the server did not start: {output}") from None
            time.sleep(0.1)
    try:
        yield base, token
    finally:
        process.terminate()
        process.wait(30)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _reads(
    base: str,
    token: str,
    run_id: int,
    clients: int,
    seconds: float,
    *,
    think: float = 0.0,
    samples: list[tuple[float, float]] | None = None,
) -> dict[str, float]:
    """Each client asks, waits for the answer, then thinks (0: as fast as it can).

    Paced clients start spread evenly over one ``think`` interval and think between 0.5 and 1.5
    times ``think`` (uniformly, seeded), as independent users would. With a fixed think time,
    clients whose answers a stall delayed together stay in step from then on: every ``think``
    seconds they all ask in the same millisecond, and the last one waits for the others (that
    measures a burst of the benchmark's own making, not a paced load). ``samples`` gets each
    request's (wall-clock start, latency). Each client has a connection of its own
    (``_lean_http``: the load generator's CPU is taken from the server's two cores)."""
    latencies: list[float] = []
    server_side: list[float] = []
    errors = 0
    thinking = random.Random(clients)
    stop = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {token}"}
    connections = [LeanConnection(base, headers) for _ in range(clients)]

    async def client(i: int) -> None:
        nonlocal errors
        paths = (f"/api/runs/{run_id}", "/api/teams/lab/runs?limit=20")
        http, n = connections[i], i
        await asyncio.sleep(think * i / clients)
        while time.monotonic() < stop:
            began, wall = time.perf_counter(), time.time()
            try:
                status, server_ms = await http.get(paths[n % 2])
                errors += status != 200
                if server_ms is not None:
                    server_side.append(server_ms / 1000)
            except OSError:  # a dropped connection counts as an error, not a crash
                errors += 1
            latencies.append(time.perf_counter() - began)
            if samples is not None:
                samples.append((wall, latencies[-1]))
            n += 1
            if think:
                await asyncio.sleep(think * (0.5 + thinking.random()))

    began, cpu = time.monotonic(), time.process_time()
    try:
        await asyncio.gather(*(client(i) for i in range(clients)))
    finally:
        for http in connections:
            await http.close()
    elapsed, cpu = time.monotonic() - began, time.process_time() - cpu
    return _summary(latencies, elapsed, errors) | {
        "server_p99_ms": 1000 * _percentile(server_side, 0.99) if server_side else float("nan"),
        "client_cpu_ms": 1000 * cpu / max(1, len(latencies)),
    }


def _summary(latencies: list[float], elapsed: float, errors: int = 0) -> dict[str, float]:
    return {
        "requests": len(latencies),
        "errors": errors,
        "p50_ms": 1000 * _percentile(latencies, 0.50),
        "p99_ms": 1000 * _percentile(latencies, 0.99),
        "rps": len(latencies) / elapsed,
    }


def _delivery_delays(api: Client, run_id: int) -> list[float]:
    """The delay of each log line of the run over SSE: its arrival minus the time printed in it."""
    delays: list[float] = []
    for event in api.events(run_id):
        if event.event == "log":
            with contextlib.suppress(ValueError):
                delays.append(time.time() - float(event.data["text"]))
    return delays


def _flood_numbers_at(base: str, token: str, run_id: int) -> tuple[list[int], float]:
    """In a process of its own (what a pool of the ``spawn`` kind can call): the number each
    stdout line of the flood begins with, in the order they arrived, and when the last one did.
    Only the numbers come back: 10 MB of lines unpickled in the load generator's process would
    stall its clients while they measure. Read with ``_lean_http``, as the clients are: httpx's
    stream parser spent half a core-second on the flood's 50,000 events."""
    numbers: list[int] = []
    last = time.time()
    headers = {"Authorization": f"Bearer {token}"}
    for event, data in sse_events(base, f"/api/runs/{run_id}/events", headers):
        if event == b"log":
            last = time.time()
            line = json.loads(data)
            if line["stream"] == "stdout":
                numbers.append(int(line["text"][:8]))
    return numbers, last


def _start_latency(api: Client, run_id: int) -> float:
    detail = api.wait(run_id, timeout=120)
    started = [
        from_iso(a["started_at"]) for job in detail["jobs"] for a in job["attempt_history"] if a["started_at"]
    ]
    return min(s for s in started if s is not None) - (from_iso(detail["created_at"]) or 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--starts", type=int, default=10, help="runs started one by one for the start latency"
    )
    parser.add_argument("--think", type=float, default=0.5, help="seconds each client waits between reads")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        fresh_database(POSTGRES) as url,
        _server(url, Path(tmp) / "home") as (base, token),
    ):
        api = Client(base, token)
        api.request("POST", "/teams/lab/boards", json={"name": "bench"})
        for spec in (SPEC_QUICK, SPEC_FLOOD, SPEC_TICKER):
            api.push("lab", spec)
        first = api.start_run("lab", "quick")["id"]
        api.wait(first)
        for _ in range(30):  # some history to list
            api.wait(api.start_run("lab", "quick")["id"])

        starts = []
        for _ in range(args.starts):
            run_id = api.start_run("lab", "quick")["id"]
            starts.append(_start_latency(api, run_id))

        idle = run(lambda: _reads(base, token, first, args.clients, args.seconds))
        paced = run(lambda: _reads(base, token, first, args.clients, args.seconds, think=args.think))

        with multiprocessing.get_context("spawn").Pool(1) as follower:
            follower.apply(os.getpid)  # the process is up (and has imported this) before the flood
            samples: list[tuple[float, float]] = []
            flood_began = time.time()
            flood_id = api.start_run("lab", "flood")["id"]
            following = follower.apply_async(_flood_numbers_at, (base, token, flood_id))
            busy = run(
                lambda: _reads(
                    base, token, first, args.clients, args.seconds, think=args.think, samples=samples
                )
            )
            numbers, flood_ended = following.get(300)
        api.wait(flood_id, timeout=300)
        during = [latency for began, latency in samples if flood_began <= began <= flood_ended]
        flood_seconds = flood_ended - flood_began
        stored = len([x for x in api.logs(flood_id) if x["stream"] == "stdout"])

        tick_id = api.start_run("lab", "ticker")["id"]
        delays = _delivery_delays(api, tick_id)

    result = {
        "clients": args.clients,
        "think_s": args.think,
        "reads_saturated": idle,
        "reads_paced": paced,
        "reads_with_10mb_log": busy,
        "reads_during_10mb_log": _summary(during, flood_seconds) | {"seconds": flood_seconds},
        "run_start_ms": {"p50": 1000 * statistics.median(starts), "max": 1000 * max(starts)},
        "sse_delivery_ms": {"p50": 1000 * statistics.median(delays), "p99": 1000 * _percentile(delays, 0.99)},
        "flood": {
            "printed": FLOOD_LINES,
            "over_sse": len(numbers),
            "in_order_once": numbers == list(range(FLOOD_LINES)),
            "first_page_stored": stored,
        },
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"API load, {args.clients} clients, {args.seconds:g} s each, PostgreSQL, {os.cpu_count()} cores")
    paced_label = f"reads, {args.think:g} s apart"
    for label, key in (
        ("reads, flat out", "reads_saturated"),
        (paced_label, "reads_paced"),
        (paced_label + " + 10 MB log", "reads_with_10mb_log"),
        ("  of which during the log", "reads_during_10mb_log"),
    ):
        r = result[key]
        server = f"  server p99 {r['server_p99_ms']:6.1f} ms" if "server_p99_ms" in r else ""
        client = f", client CPU {r['client_cpu_ms']:.2f} ms/req" if "client_cpu_ms" in r else ""
        print(
            f"  {label:<32} p50 {r['p50_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms{server:<24}"
            f"{r['rps']:7.0f} req/s  ({r['requests']} requests, {r['errors']} errors{client})"
        )
    start = result["run_start_ms"]
    print(f"  {'run start':<32} p50 {start['p50']:6.1f} ms  max {start['max']:6.1f} ms")
    sse = result["sse_delivery_ms"]
    print(f"  {'SSE delivery':<32} p50 {sse['p50']:6.1f} ms  p99 {sse['p99']:6.1f} ms")
    flood = result["flood"]
    arrived = f"{flood['over_sse']}/{flood['printed']}"
    print(f"  {'10 MB flood':<32} {arrived} lines over SSE, in order and once: {flood['in_order_once']}")


if __name__ == "__main__":
    main()
