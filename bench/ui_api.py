"""The web UI's hot API calls, in process (FastAPI's TestClient over a real database):

* `graph`: POST /api/spec/graph (the editor asks on every pause) and POST /api/spec/edit (one
  connect), on the iris example and on a chain of --jobs jobs;
* `board`: GET /api/teams/{team}/pipelines for a board of 50 pipelines with --runs runs each
  (last run and 20 recent runs per pipeline, one query), on SQLite and, with --postgres, PostgreSQL.

    .venv/bin/python bench/ui_api.py [--jobs 200] [--runs 1000] [--postgres postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._postgres import fresh_database  # noqa: E402

from reefline.server.app import create_app  # noqa: E402
from reefline.server.settings import ServerSettings  # noqa: E402
from reefline.services import accounts  # noqa: E402
from reefline.services.audit import Actor  # noqa: E402
from reefline.services.home import ServerHome  # noqa: E402
from reefline.store.db import open_database  # noqa: E402
from reefline.store.tables import runs  # noqa: E402

BOARD_SPEC = "version: 1\nname: {name}\nboard: research\njobs:\n  a:\n    script: echo a\n"


def chain(jobs: int) -> str:
    out = ["version: 1", "name: chain", "jobs:"]
    for i in range(jobs):
        out += [
            f"  j{i}:",
            f"    script: echo {i}",
            "    outputs:",
            f"      o: {{path: out/{i}.txt, type: text}}",
        ]
        if i:
            out += [f"    needs: [j{i - 1}]", "    inputs:", f"      x: {{from: j{i - 1}.o}}"]
    return "\n".join(out) + "\n"


def timed(call: Callable[[], object], rounds: int) -> str:
    call()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return f"median {statistics.median(samples):7.1f} ms   max {max(samples):7.1f} ms   (n={rounds})"


def client(url: str, home: Path) -> tuple[TestClient, dict[str, str]]:
    db = open_database(url)
    app = create_app(ServerSettings(home=ServerHome(home)), db=db)
    with db.begin() as conn:
        user = accounts.create_user(conn, Actor.system(), "bench", password="correct horse battery")
        _, token = accounts.create_token(conn, Actor.system(), user.id, "bench")
    return TestClient(app), {"Authorization": f"Bearer {token}"}


def graph(jobs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        api, headers = client(f"sqlite:///{tmp}/r.db", Path(tmp) / "home")
        iris = (ROOT / "examples/iris/reefline.yaml").read_text()
        for label, text, job in (("iris", iris, "prepare"), (f"{jobs} jobs", chain(jobs), "j0")):
            size = f"{label} ({len(text) // 1024} KB)"
            body = {"text": text}
            edit = {
                "text": text,
                "edits": [{"op": "set_field", "job": job, "path": ["timeout"], "value": "5m"}],
            }

            def ask_graph(body: dict[str, object] = body) -> object:
                return api.post("/api/spec/graph", json=body, headers=headers)

            def ask_edit(edit: dict[str, object] = edit) -> object:
                return api.post("/api/spec/edit", json=edit, headers=headers)

            print(f"graph  {size:<20} {timed(ask_graph, 10)}")
            print(f"edit   {size:<20} {timed(ask_edit, 5)}")


def board(url: str, home: Path, runs_each: int) -> None:
    api, headers = client(url, home)
    api.post("/api/teams", json={"name": "lab"}, headers=headers)
    api.post("/api/teams/lab/boards", json={"name": "research"}, headers=headers)
    for i in range(50):
        spec = BOARD_SPEC.format(name=f"p{i:02d}").encode()
        api.post(
            "/api/teams/lab/pipelines",
            files={"spec": ("reefline.yaml", spec, "application/yaml")},
            headers=headers,
        )
        api.post(f"/api/teams/lab/pipelines/p{i:02d}/runs", json={}, headers=headers)
    db = api.app.state.db  # type: ignore[attr-defined]
    with db.begin() as conn:  # the engine's part, written directly: finished runs
        first = [dict(r._mapping) for r in conn.execute(select(runs))]
        copies = [
            {
                **{k: v for k, v in r.items() if k != "id"},
                "state": "success",
                "started_at": 1e9 + k,
                "finished_at": 1e9 + k + 3,
            }
            for r in first
            for k in range(runs_each - 1)
        ]
        conn.execute(runs.insert(), copies)
    page = "/api/teams/lab/pipelines?board=research&limit=50"
    took = timed(lambda: api.get(page, headers=headers), 10)
    print(f"board  {db.dialect.name:<10} 50 x {runs_each} runs  {took}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--postgres", help="a PostgreSQL server URL (a throwaway database is made on it)")
    args = parser.parse_args()
    graph(args.jobs)
    with tempfile.TemporaryDirectory() as tmp:
        board(f"sqlite:///{tmp}/r.db", Path(tmp) / "home", args.runs)
        if args.postgres:
            with fresh_database(args.postgres) as url:
                board(url, Path(tmp) / "home-pg", args.runs)


if __name__ == "__main__":
    main()
