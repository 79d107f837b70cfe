"""A team's allow-list over the API: deny by default, applied on push, on run start and when the
engine starts a queued run (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from reefline.server.serve import engine_host
from reefline.server.settings import ServerSettings
from tests.server.conftest import Api

POLICY = "/api/teams/lab/policy"
BOXED = """\
version: 1
name: boxed
board: research
jobs:
  prepare:
    script: echo ok
  train:
    image: registry.example/team/trainer:2
    script: echo train
"""


@pytest.fixture
def lab(make_api: Callable[[], Api]) -> tuple[Api, dict[str, str]]:
    api = make_api()
    token = api.user("alice")
    h = api.as_(token)
    assert api.client.post("/api/teams", json={"name": "lab"}, headers=h).status_code == 201
    assert api.client.post("/api/teams/lab/boards", json={"name": "research"}, headers=h).status_code == 201
    return api, h


def _push(api: Api, h: dict[str, str], spec: str) -> Any:
    files = {"spec": ("reefline.yaml", spec.encode(), "application/yaml")}
    return api.client.post("/api/teams/lab/pipelines", files=files, headers=h)


def _diagnostics(response: Any) -> list[tuple[int, int, str, str]]:
    found = response.json()["error"]["details"]["diagnostics"]
    return [(d["line"], d["col"], d["code"], d["message"]) for d in found]


def test_a_new_team_denies_every_image_and_allows_only_local(lab: tuple[Api, dict[str, str]]) -> None:
    api, h = lab
    policy = api.client.get(POLICY, headers=h).json()
    assert (policy["images"], policy["executors"], policy["default"]) == ([], ["local"], True)
    refused = _push(api, h, BOXED)
    assert refused.status_code == 422
    assert _diagnostics(refused) == [
        (
            8,
            12,
            "RL601",
            "image 'registry.example/team/trainer:2' is not in the allow-list (team 'lab', default policy)",
        ),
        (
            8,
            12,
            "RL601",
            "executor 'docker' is not in the allow-list (team 'lab', default policy) (implied by `image`)",
        ),
    ]
    assert api.client.get("/api/teams/lab/pipelines", headers=h).json() == []


def test_an_allowed_image_pushes_and_a_tightened_policy_stops_new_runs(
    lab: tuple[Api, dict[str, str]],
) -> None:
    api, h = lab
    put = api.client.put(
        POLICY, json={"images": ["registry.example/team/*"], "executors": ["local", "docker"]}, headers=h
    )
    assert put.status_code == 200, put.text
    assert (put.json()["default"], put.json()["updated_by"]) == (False, "alice")
    assert _push(api, h, BOXED).status_code == 201
    other = BOXED.replace("registry.example/team/trainer:2", "registry.example/other/trainer:2")
    assert _diagnostics(_push(api, h, other)) == [
        (8, 12, "RL601", "image 'registry.example/other/trainer:2' is not in the allow-list (team 'lab')")
    ]
    tightened = api.client.put(
        POLICY, json={"images": ["busybox"], "executors": ["local", "docker"]}, headers=h
    )
    assert tightened.status_code == 200
    refused = api.client.post("/api/teams/lab/pipelines/boxed/runs", json={}, headers=h)
    assert refused.status_code == 422
    assert [(c, m) for _, _, c, m in _diagnostics(refused)] == [
        (
            "RL601",
            "image 'registry.example/team/trainer:2' is not in the allow-list (team 'lab')",
        )
    ]
    audit = api.client.get("/api/teams/lab/audit", headers=h).json()
    assert [e["action"] for e in audit].count("team.policy") == 2


def test_a_run_queued_before_the_policy_tightened_fails_when_it_starts(
    lab: tuple[Api, dict[str, str]],
) -> None:
    api, h = lab
    api.client.put(
        POLICY, json={"images": ["registry.example/team/*"], "executors": ["local", "docker"]}, headers=h
    )
    assert _push(api, h, BOXED).status_code == 201
    run_id = api.client.post("/api/teams/lab/pipelines/boxed/runs", json={}, headers=h).json()["id"]
    assert api.client.delete(POLICY, headers=h).json()["default"] is True  # back to deny
    host = engine_host(ServerSettings(home=api.home, job_slots=1), api.db)
    host.poll_every = 0.1
    host.start()
    try:
        deadline = time.monotonic() + 60
        while (detail := api.client.get(f"/api/runs/{run_id}", headers=h).json())["state"] in (
            "queued",
            "running",
        ):
            assert time.monotonic() < deadline, detail
            time.sleep(0.1)
    finally:
        host.stop(5.0)
    assert detail["state"] == "failed"
    assert (
        "image 'registry.example/team/trainer:2' is not in the allow-list (team 'lab', default policy)"
        in str(detail)
    )
    assert all(job["state"] != "success" for job in detail["jobs"])  # nothing ran


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"images": ["bad name"], "executors": []}, "images: image pattern 'bad name'"),
        ({"images": [], "executors": ["Docker"]}, "executors: executor 'Docker'"),
        ({"images": ["x" * 256], "executors": []}, "body.images.0: String should have at most 255"),
        ({"images": []}, "executors"),
    ],
)
def test_a_malformed_policy_is_refused_naming_the_field(
    lab: tuple[Api, dict[str, str]], body: dict[str, object], message: str
) -> None:
    api, h = lab
    response = api.client.put(POLICY, json=body, headers=h)
    assert response.status_code == 422
    assert message in response.text
    assert api.client.get(POLICY, headers=h).json()["default"] is True


def test_a_developer_reads_but_cannot_change_the_policy(lab: tuple[Api, dict[str, str]]) -> None:
    api, h = lab
    dev = api.as_(api.user("dev"))
    assert (
        api.client.put("/api/teams/lab/members/dev", json={"role": "developer"}, headers=h).status_code == 200
    )
    assert api.client.get(POLICY, headers=dev).status_code == 200
    denied = api.client.put(POLICY, json={"images": ["*"], "executors": ["docker"]}, headers=dev)
    assert denied.status_code == 403
    assert denied.json()["error"]["details"]["permission"] == "team.manage"


def test_policies_are_per_team(lab: tuple[Api, dict[str, str]]) -> None:
    api, h = lab
    assert api.client.post("/api/teams", json={"name": "other"}, headers=h).status_code == 201
    api.client.put(POLICY, json={"images": ["busybox"], "executors": ["docker"]}, headers=h)
    assert api.client.get("/api/teams/other/policy", headers=h).json()["default"] is True
