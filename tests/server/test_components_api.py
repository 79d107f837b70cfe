"""Component runs over the API (SQLite and PostgreSQL): recorded per team, listed, linked only to the
team's own jobs, and odd bodies refused with 422."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from reefline.store.tables import jobs
from tests.server.conftest import IRIS_LIKE, Api

RUNS = "/api/teams/{team}/component-runs"
SHA = "ab" * 32


def _body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "component": {"name": "featurize", "owner": "alice", "description": "rows to features"},
        "status": "success",
        "started_at": 100.0,
        "finished_at": 101.5,
        "artifacts": [
            {"direction": "in", "path": "data/raw.csv", "kind": "file", "sha256": SHA, "size": 4},
            {"direction": "out", "path": None, "kind": "label", "label": "prediction-1"},
        ],
    }
    body.update(changes)
    return body


@pytest.fixture
def teams(make_api: Callable[[], Api]) -> tuple[Api, dict[str, str], dict[str, str]]:
    api = make_api()
    alice, bob = api.as_(api.user("alice")), api.as_(api.user("bob"))
    for team, who in (("lab", alice), ("other", bob)):
        assert api.client.post("/api/teams", json={"name": team}, headers=who).status_code == 201
        assert (
            api.client.post(f"/api/teams/{team}/boards", json={"name": "research"}, headers=who).status_code
            == 201
        )
        files = {"spec": ("reefline.yaml", IRIS_LIKE.encode(), "application/yaml")}
        assert api.client.post(f"/api/teams/{team}/pipelines", files=files, headers=who).status_code == 201
    return api, alice, bob


def _queued_job(api: Api, team: str, who: dict[str, str]) -> tuple[int, int]:
    run_id = int(api.client.post(f"/api/teams/{team}/pipelines/demo/runs", json={}, headers=who).json()["id"])
    with api.db.connect() as conn:
        job_id = (
            conn.execute(select(jobs.c.id).where(jobs.c.run_id == run_id).order_by(jobs.c.id))
            .scalars()
            .first()
        )
    assert job_id is not None
    return run_id, int(job_id)


def test_a_recorded_run_registers_its_component_and_is_listed(
    teams: tuple[Api, dict[str, str], dict[str, str]],
) -> None:
    api, alice, bob = teams
    first = api.client.post(RUNS.format(team="lab"), json=_body(), headers=alice)
    assert first.status_code == 201, first.text
    failed = _body(status="failed", exception="ValueError: bad row", finished_at=200.0)
    assert api.client.post(RUNS.format(team="lab"), json=failed, headers=alice).status_code == 201
    [listed] = api.client.get("/api/teams/lab/components", headers=alice).json()
    assert (listed["name"], listed["owner"], listed["runs"], listed["last_status"]) == (
        "featurize",
        "alice",
        2,
        "failed",
    )
    assert api.client.get("/api/teams/other/components", headers=bob).json() == []  # per team
    assert api.client.get("/api/teams/lab/components", headers=bob).status_code == 404


def test_a_run_links_only_to_a_job_of_its_own_team(teams: tuple[Api, dict[str, str], dict[str, str]]) -> None:
    api, alice, bob = teams
    run_id, job_id = _queued_job(api, "lab", alice)
    other_run, other_job = _queued_job(api, "other", bob)
    own = api.client.post(
        RUNS.format(team="lab"), json=_body(pipeline_run_id=run_id, job_id=job_id, attempt=1), headers=alice
    )
    assert own.json()["linked_job_id"] == job_id
    foreign = _body(pipeline_run_id=other_run, job_id=other_job, attempt=1)
    assert (
        api.client.post(RUNS.format(team="lab"), json=foreign, headers=alice).json()["linked_job_id"] is None
    )
    wrong_run = _body(pipeline_run_id=other_run, job_id=job_id, attempt=1)
    assert (
        api.client.post(RUNS.format(team="lab"), json=wrong_run, headers=alice).json()["linked_job_id"]
        is None
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"status": "running"},
        {"component": {"name": "bad name with spaces"}},
        {"component": {"name": ""}},
        {"started_at": float("inf")},
        {"job_id": 2**40},
        {"artifacts": [{"direction": "in", "path": "x", "kind": "file", "sha256": "not-hex", "size": 1}]},
        {"artifacts": [{"direction": "sideways", "path": "x", "kind": "file"}]},
        {"surprise": 1},
    ],
)
def test_odd_bodies_are_refused_not_stored(
    teams: tuple[Api, dict[str, str], dict[str, str]], changes: dict[str, Any]
) -> None:
    api, alice, _ = teams
    body = _body(**changes)
    response = api.client.post(
        RUNS.format(team="lab"), content=_json(body), headers={**alice, "content-type": "application/json"}
    )
    assert response.status_code in (400, 422), response.text
    assert api.client.get("/api/teams/lab/components", headers=alice).json() == []


def _json(body: dict[str, Any]) -> str:
    import json

    return json.dumps(body)  # allows inf (as Infinity), which httpx's json= refuses to send
