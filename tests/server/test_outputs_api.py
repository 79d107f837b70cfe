"""A run's outputs over the API (list, download, a directory as a tar), reproduce on the server with
the per-output verdict, and gc of the server's artifact store by a site admin (SQLite, PostgreSQL)."""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from reefline.server.serve import engine_host
from reefline.server.settings import ServerSettings
from reefline.services import audit
from tests.server.conftest import Api

LAB = """\
version: 1
name: lab
board: research
params:
  n: {type: int, default: 3}
jobs:
  make:
    script:
      - mkdir -p out/deep && echo one > out/a.txt && echo two > out/deep/b.txt
      - echo ${{ params.n }} > count.txt
      - date +%s%N > stamp.txt
    outputs:
      count: {path: count.txt, type: text}
      folder: {path: out, type: directory}
      stamp: {path: stamp.txt, type: text}
"""


@dataclass
class World:
    api: Api
    alice: dict[str, str]
    bob: dict[str, str]
    admin: dict[str, str]
    run_id: int

    def get(self, url: str, who: dict[str, str] | None = None) -> Any:
        return self.api.client.get(url, headers=self.alice if who is None else who)

    def outputs(self, run_id: int) -> dict[str, dict[str, Any]]:
        response = self.get(f"/api/runs/{run_id}/outputs")
        assert response.status_code == 200, response.text
        return {o["name"]: o for o in response.json()}


def _setup(api: Api, headers: dict[str, str], team: str) -> None:
    assert api.client.post("/api/teams", json={"name": team}, headers=headers).status_code == 201
    board = api.client.post(f"/api/teams/{team}/boards", json={"name": "research"}, headers=headers)
    assert board.status_code == 201
    files = {"spec": ("reefline.yaml", LAB.encode(), "application/yaml")}
    assert api.client.post(f"/api/teams/{team}/pipelines", files=files, headers=headers).status_code == 201


def _finish(api: Api, headers: dict[str, str], run_id: int) -> dict[str, Any]:
    """Run the engine until run ``run_id`` has ended."""
    host = engine_host(ServerSettings(home=api.home, job_slots=2), api.db)
    host.poll_every = 0.1
    host.start()
    try:
        deadline = time.monotonic() + 60
        while (detail := api.client.get(f"/api/runs/{run_id}", headers=headers).json())["state"] not in (
            "success",
            "failed",
            "canceled",
        ):
            assert time.monotonic() < deadline, detail
            time.sleep(0.1)
    finally:
        host.stop(5.0)
    result: dict[str, Any] = detail
    return result


@pytest.fixture
def world(make_api: Callable[[], Api]) -> Iterator[World]:
    api = make_api()
    alice, bob = api.as_(api.user("alice")), api.as_(api.user("bob"))
    admin = api.as_(api.user("root", admin=True))
    _setup(api, alice, "lab")
    _setup(api, bob, "other")
    started = api.client.post("/api/teams/lab/pipelines/lab/runs", json={"params": {"n": "7"}}, headers=alice)
    assert started.status_code == 201, started.text
    run_id = int(started.json()["id"])
    assert _finish(api, alice, run_id)["state"] == "success"
    yield World(api, alice, bob, admin, run_id)


def test_outputs_lists_every_output_with_its_download_url(world: World) -> None:
    outputs = world.outputs(world.run_id)
    assert set(outputs) == {"count", "folder", "stamp"}
    count = outputs["count"]
    assert (count["job"], count["path"], count["type"], count["size"]) == ("make", "count.txt", "text", 2)
    assert len(count["sha256"]) == 64
    assert count["download"] == f"/api/runs/{world.run_id}/outputs/{count['id']}/content"
    assert world.get(f"/api/runs/{world.run_id}/outputs", world.bob).status_code == 404


def test_content_streams_a_file_and_tars_a_directory(world: World) -> None:
    outputs = world.outputs(world.run_id)
    file = world.get(outputs["count"]["download"])
    assert file.status_code == 200
    assert file.content == b"7\n"
    assert 'filename="count.txt"' in file.headers["content-disposition"]
    folder = world.get(outputs["folder"]["download"])
    assert folder.status_code == 200 and folder.headers["content-type"] == "application/x-tar"
    with tarfile.open(fileobj=io.BytesIO(folder.content)) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert {"out/a.txt", "out/deep/b.txt"} <= set(members)
        handle = tar.extractfile(members["out/deep/b.txt"])
        assert handle is not None and handle.read() == b"two\n"


def test_content_of_an_unknown_or_foreign_output_is_a_clear_404(world: World) -> None:
    unknown = world.get(f"/api/runs/{world.run_id}/outputs/999999/content")
    assert unknown.status_code == 404
    assert "has no output 999999" in unknown.json()["error"]["message"]
    url = world.outputs(world.run_id)["count"]["download"]
    assert world.get(url, world.bob).status_code == 404
    assert world.get(f"/api/runs/{world.run_id}/outputs/x/content").status_code == 422


def test_an_artifact_store_that_cannot_be_reached_is_a_503_not_a_404(world: World) -> None:
    url = world.outputs(world.run_id)["count"]["download"]
    store = world.api.home.artifacts
    store.rename(store.with_name("artifacts.away"))
    store.write_text("the volume is not mounted")
    answer = world.get(url)
    assert answer.status_code == 503, answer.text
    error = answer.json()["error"]
    assert error["code"] == "unavailable" and "artifact store cannot be reached" in error["message"]
    gc = world.api.client.post("/api/admin/gc", json={"keep_last": 1, "dry_run": True}, headers=world.admin)
    assert gc.status_code == 503, gc.text


def test_a_server_keeps_outputs_in_s3_when_told_to(
    make_api: Callable[[], Api], s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    monkeypatch.setenv("REEFLINE_ARTIFACTS_URL", f"s3://{s3_bucket}/reefline")
    api = make_api()
    alice = api.as_(api.user("alice"))
    _setup(api, alice, "lab")
    started = api.client.post("/api/teams/lab/pipelines/lab/runs", json={"params": {"n": "5"}}, headers=alice)
    run_id = int(started.json()["id"])
    assert _finish(api, alice, run_id)["state"] == "success"
    outputs = {o["name"]: o for o in api.client.get(f"/api/runs/{run_id}/outputs", headers=alice).json()}
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert any(outputs["count"]["sha256"] in key for key in keys), keys
    assert not (api.home.artifacts / "objects").exists(), "nothing went to the home's folder"
    count = api.client.get(outputs["count"]["download"], headers=alice)
    assert count.status_code == 200 and count.content == b"5\n"
    folder = api.client.get(outputs["folder"]["download"], headers=alice)
    with tarfile.open(fileobj=io.BytesIO(folder.content)) as tar:
        assert {"out/a.txt", "out/deep/b.txt"} <= set(tar.getnames())


def test_reproduce_runs_again_uncached_and_tells_which_outputs_match(world: World) -> None:
    stranger = world.api.client.post(f"/api/runs/{world.run_id}/reproduce", headers=world.bob)
    assert stranger.status_code == 404
    started = world.api.client.post(f"/api/runs/{world.run_id}/reproduce", headers=world.alice)
    assert started.status_code == 202, started.text
    new_id = int(started.json()["id"])
    assert new_id != world.run_id and started.json()["trigger"] == "reproduce"
    early = world.get(f"/api/runs/{new_id}/reproduction").json()
    assert early["finished"] is False and {o["verdict"] for o in early["outputs"]} == {"missing"}
    detail = _finish(world.api, world.alice, new_id)
    assert detail["state"] == "success" and detail["params"] == {"n": 7}
    assert [j["state"] for j in detail["jobs"]] == ["success"]  # ran again, not cached
    body = world.get(f"/api/runs/{new_id}/reproduction").json()
    assert body["original_run_id"] == world.run_id and body["finished"] is True
    verdicts = {o["output"]: o["verdict"] for o in body["outputs"]}
    assert verdicts == {"count": "identical", "folder": "identical", "stamp": "different"}
    assert body["identical"] is False
    not_one = world.get(f"/api/runs/{world.run_id}/reproduction")
    assert not_one.status_code == 404 and "not a reproduction" in not_one.json()["error"]["message"]


def test_gc_is_for_site_admins_counts_every_team_and_is_audited(world: World) -> None:
    post = world.api.client.post
    refused = post("/api/admin/gc", json={"keep_last": 0}, headers=world.alice)
    assert refused.status_code == 403 and "site admins" in refused.json()["error"]["message"]
    assert post("/api/admin/gc", json={"keep_last": -1}, headers=world.admin).status_code == 422
    kept = post("/api/admin/gc", json={"keep_last": 1}, headers=world.admin).json()
    assert (kept["removed"], kept["bytes_freed"], kept["kept_runs"]) == (0, 0, 1)
    dry = post("/api/admin/gc", json={"keep_last": 0, "dry_run": True}, headers=world.admin).json()
    assert dry["dry_run"] is True and dry["removed"] >= 4 and dry["bytes_freed"] > 0
    url = world.outputs(world.run_id)["count"]["download"]
    assert world.get(url).status_code == 200  # a dry run deletes nothing
    done = post("/api/admin/gc", json={"keep_last": 0}, headers=world.admin).json()
    assert done["removed"] == dry["removed"] and done["bytes_freed"] == dry["bytes_freed"]
    gone = world.get(url)
    assert gone.status_code == 404 and "no longer has output 'count'" in gone.json()["error"]["message"]
    with world.api.db.connect() as conn:
        entries = [e for e in audit.entries(conn, team_id=None) if e.action == "artifacts.gc"]
    assert len(entries) == 3  # the refused and the invalid calls wrote nothing; dry runs are logged too
    assert entries[0].details["removed"] == done["removed"] and entries[0].username == "root"
