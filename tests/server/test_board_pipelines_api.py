"""GET /api/teams/{team}/pipelines for boards: each pipeline's last run and recent runs, one query per
page whatever its size, paged by name."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, text

from reefline.client import Client
from tests.server.conftest import IRIS_LIKE, Api


def _team(api: Api) -> dict[str, str]:
    headers = api.as_(api.user("alice"))
    assert api.client.post("/api/teams", json={"name": "lab"}, headers=headers).status_code == 201
    assert (
        api.client.post("/api/teams/lab/boards", json={"name": "research"}, headers=headers).status_code
        == 201
    )
    return headers


def _push(api: Api, headers: dict[str, str], name: str) -> None:
    spec = IRIS_LIKE.replace("name: demo", f"name: {name}")
    files = {"spec": ("reefline.yaml", spec.encode(), "application/yaml")}
    assert api.client.post("/api/teams/lab/pipelines", files=files, headers=headers).status_code == 201


def _run(api: Api, headers: dict[str, str], name: str) -> int:
    response = api.client.post(f"/api/teams/lab/pipelines/{name}/runs", json={}, headers=headers)
    assert response.status_code == 201
    return int(response.json()["id"])


@contextmanager
def _counting(api: Api) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(api.db, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(api.db, "before_cursor_execute", count)


def test_pipelines_carry_their_last_run_and_recent_runs_oldest_first(api: Api) -> None:
    headers = _team(api)
    _push(api, headers, "alpha")
    _push(api, headers, "beta")
    ids = [_run(api, headers, "alpha") for _ in range(23)]
    now = time.time()
    with api.db.begin() as conn:  # the engine's part, written directly: finished runs of known length
        for i, run_id in enumerate(ids[:-1]):
            state = "failed" if i % 5 == 0 else "success"
            conn.execute(
                text("UPDATE runs SET state = :s, started_at = :a, finished_at = :b WHERE id = :id"),
                {"s": state, "a": now - 100 + i, "b": now - 100 + i + (i + 1) * 0.5, "id": run_id},
            )
    listed = api.client.get("/api/teams/lab/pipelines", headers=headers)
    assert listed.status_code == 200
    alpha, beta = listed.json()
    assert (alpha["name"], beta["name"]) == ("alpha", "beta")
    assert beta["last_run"] is None and beta["recent_runs"] == []
    last = alpha["last_run"]
    assert (last["id"], last["state"], last["duration"], last["finished_at"]) == (
        ids[-1],
        "queued",
        None,
        None,
    )
    recent = alpha["recent_runs"]
    assert [r["id"] for r in recent] == ids[-20:]  # the 20 newest, oldest first
    assert recent[0]["state"] == "success" and recent[0]["duration"] == 2.0  # the 4th of 23: 4 * 0.5 s
    assert [r["state"] for r in recent[:3]] == ["success", "success", "failed"]
    assert recent[0]["finished_at"].startswith("20")


def test_one_query_per_page_whatever_its_size_and_pages_by_name(api: Api) -> None:
    headers = _team(api)
    names = [f"p{i:02d}" for i in range(50)]
    for name in names:
        _push(api, headers, name)
    for name in names[:10]:
        _run(api, headers, name)
    api.client.get("/api/teams/lab/pipelines?limit=1", headers=headers)  # the token is cached from here on
    with _counting(api) as small:
        assert len(api.client.get("/api/teams/lab/pipelines?limit=2", headers=headers).json()) == 2
    with _counting(api) as large:
        started = time.perf_counter()
        board = api.client.get("/api/teams/lab/pipelines?board=research&limit=50", headers=headers)
        elapsed = time.perf_counter() - started
    assert [p["name"] for p in board.json()] == names
    assert len(large) - len(small) == 1  # the board lookup of ?board=, and nothing per pipeline
    assert elapsed < 1.0
    page = api.client.get("/api/teams/lab/pipelines?after=p47&limit=2", headers=headers).json()
    assert [p["name"] for p in page] == ["p48", "p49"]
    assert api.client.get("/api/teams/lab/pipelines?after=p49", headers=headers).json() == []


def test_the_python_client_reads_every_page(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    headers = _team(api)
    for name in ("a1", "a2", "a3", "a4", "a5"):
        _push(api, headers, name)
    client = Client("http://testserver", headers["Authorization"].split()[1], transport=api.client._transport)
    monkeypatch.setattr(Client, "PIPELINES_PAGE", 2)
    assert [p["name"] for p in client.pipelines("lab")] == ["a1", "a2", "a3", "a4", "a5"]
