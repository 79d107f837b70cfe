"""Experiments through the API over real runs: compare, a metric across runs, and trace, scoped to
the caller's teams (another team's pipeline of the same name and its runs stay out of sight)."""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from reefline.server.serve import engine_host
from reefline.server.settings import ServerSettings
from tests.server.conftest import Api

LAB = """\
version: 1
name: exp
board: research
params:
  lr: {type: float, default: 0.1}
jobs:
  prepare:
    script: echo rows > data.txt
    outputs:
      data: {path: data.txt, type: text}
  train:
    needs: [prepare]
    inputs:
      data: {from: prepare.data}
    script:
      - cat data.txt > model.txt
      - |
        printf '{"accuracy": ${{ params.lr }}}' > m.json
    outputs:
      model: {path: model.txt, type: text}
    metrics: m.json
"""
OTHER = """\
version: 1
name: exp
board: research
jobs:
  use:
    inputs:
      data: {path: data.txt}
    script:
      - cat data.txt > copy.txt
      - |
        printf '{"accuracy": 0.99}' > m.json
    outputs:
      copy: {path: copy.txt, type: text}
    metrics: m.json
"""


@dataclass
class World:
    api: Api
    alice: dict[str, str]
    bob: dict[str, str]
    lab_runs: list[int]
    other_run: int


def _source(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("data.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _team(api: Api, headers: dict[str, str], team: str, spec: str, source: bytes | None = None) -> None:
    assert api.client.post("/api/teams", json={"name": team}, headers=headers).status_code == 201
    board = api.client.post(f"/api/teams/{team}/boards", json={"name": "research"}, headers=headers)
    assert board.status_code == 201
    files = {"spec": ("reefline.yaml", spec.encode(), "application/yaml")}
    if source is not None:
        files["source"] = ("src.tar.gz", source, "application/gzip")
    assert api.client.post(f"/api/teams/{team}/pipelines", files=files, headers=headers).status_code == 201


def _run(api: Api, headers: dict[str, str], team: str, params: dict[str, str]) -> int:
    started = api.client.post(
        f"/api/teams/{team}/pipelines/exp/runs", json={"params": params}, headers=headers
    )
    run_id = int(started.json()["id"])
    deadline = time.monotonic() + 60
    while (state := api.client.get(f"/api/runs/{run_id}", headers=headers).json()["state"]) not in (
        "success",
        "failed",
    ):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert state == "success", api.client.get(f"/api/runs/{run_id}", headers=headers).json()
    return run_id


@pytest.fixture
def world(make_api: Callable[[], Api]) -> Iterator[World]:
    api = make_api()
    alice, bob = api.as_(api.user("alice")), api.as_(api.user("bob"))
    _team(api, alice, "lab", LAB)
    _team(api, bob, "other", OTHER, _source(b"rows\n"))  # the very bytes lab's prepare writes
    host = engine_host(ServerSettings(home=api.home, job_slots=2), api.db)
    host.poll_every = 0.1
    host.start()
    try:
        lab_runs = [_run(api, alice, "lab", {"lr": lr}) for lr in ("0.1", "0.5")]
        other_run = _run(api, bob, "other", {})
    finally:
        host.stop(5.0)
    yield World(api, alice, bob, lab_runs, other_run)


def test_compare_puts_params_and_metrics_side_by_side(world: World) -> None:
    first, second = world.lab_runs
    response = world.api.client.get(f"/api/teams/lab/compare?runs={second},{first}", headers=world.alice)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [r["id"] for r in body["runs"]] == [second, first]
    assert body["params"] == [{"key": "lr", "values": [0.5, 0.1], "differs": True}]
    assert body["metrics"] == [{"key": "accuracy", "values": [0.5, 0.1], "differs": True}]
    theirs = world.api.client.get(
        f"/api/teams/lab/compare?runs={first},{world.other_run}", headers=world.alice
    )
    assert theirs.status_code == 404 and str(world.other_run) in theirs.json()["error"]["message"]
    one = world.api.client.get(f"/api/teams/lab/compare?runs={first}", headers=world.alice)
    assert one.status_code == 422 and "at least two" in one.json()["error"]["message"]
    junk = world.api.client.get("/api/teams/lab/compare?runs=1,x", headers=world.alice)
    assert junk.status_code == 422


def test_a_metric_across_the_pipelines_runs_leaves_other_teams_out(world: World) -> None:
    response = world.api.client.get("/api/teams/lab/pipelines/exp/metrics?key=accuracy", headers=world.alice)
    assert response.status_code == 200
    points = response.json()["points"]
    assert [(p["run_id"], p["job"], p["value"]) for p in points] == [
        (world.lab_runs[0], "train", 0.1),
        (world.lab_runs[1], "train", 0.5),
    ]
    limited = world.api.client.get(
        "/api/teams/lab/pipelines/exp/metrics?key=accuracy&limit=1", headers=world.alice
    )
    assert [p["value"] for p in limited.json()["points"]] == [0.5]
    missing = world.api.client.get("/api/teams/lab/pipelines/exp/metrics?key=loss", headers=world.alice)
    assert missing.status_code == 404 and "accuracy" in missing.json()["error"]["message"]


def test_trace_follows_an_output_back_through_a_cached_job(world: World) -> None:
    first, second = world.lab_runs
    response = world.api.client.get(f"/api/runs/{second}/trace?output=train.model", headers=world.alice)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["direction"] == "back" and body["hidden"] == 0
    assert [(f["job"], f["run_id"]) for f in body["frames"]] == [("train", second), ("prepare", second)]
    assert body["frames"][1]["cached_from_run"] == first  # prepare did not run again
    assert body["frames"][0]["kind"] == "job" and body["frames"][0]["component_run_id"] is None
    [data_in] = body["frames"][0]["inputs"]
    assert data_in["name"] == "data" and data_in["frame"] == 1
    assert body["frames"][0]["params"] == {"lr": 0.5}
    assert set(body["frames"][0]["code"]) == {"script_sha256"}  # the attempt's script hash
    assert body["frames"][0]["outputs"][0]["uri"].startswith("file://")  # where the store keeps it
    by_path = world.api.client.get(f"/api/runs/{second}/trace?output=model.txt", headers=world.alice).json()
    assert by_path["sha256"] == body["sha256"]
    ahead = world.api.client.get(
        f"/api/runs/{first}/trace?output=prepare.data&forward=true", headers=world.alice
    ).json()
    assert ahead["direction"] == "forward" and {f["job"] for f in ahead["frames"]} >= {"train"}
    nothing = world.api.client.get(f"/api/runs/{second}/trace?output=train.nope", headers=world.alice)
    assert nothing.status_code == 404


def test_trace_hides_the_frames_of_another_teams_runs(world: World) -> None:
    response = world.api.client.get(f"/api/runs/{world.other_run}/trace?output=use.copy", headers=world.bob)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [f["job"] for f in body["frames"]] == ["use"]
    assert body["hidden"] == 1  # lab's prepare made those bytes first; bob is not in lab
    [data_in] = body["frames"][0]["inputs"]
    assert data_in["frame"] is None and data_in["producer_run"] is None
    assert (
        world.api.client.get(
            f"/api/runs/{world.lab_runs[0]}/trace?output=train.model", headers=world.bob
        ).status_code
        == 404
    )
