"""Runs through the API, executed by a real engine host on the same database (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import json
import tarfile
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import text

from reefline.server.serve import engine_host
from reefline.server.settings import ServerSettings
from tests.server.conftest import Api

SPEC = """\
version: 1
name: hello
board: research
params:
  who: {type: str, default: world}
jobs:
  greet:
    script:
      - python greet.py ${{ params.who }} > greeting.txt
      - echo "key=$API_KEY"
      - env | sort > env.txt
    outputs:
      greeting: {path: greeting.txt, type: file}
  shout:
    needs: [greet]
    inputs:
      greeting: {from: greet.greeting}
    script: tr a-z A-Z < greeting.txt
"""

SLOW = """\
version: 1
name: slow
board: research
jobs:
  wait:
    script: sleep 30
"""


def _source() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = b"import sys\nprint('hello, ' + sys.argv[1])\n"
        info = tarfile.TarInfo("greet.py")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def served(make_api: Callable[[], Api], monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Api, str]]:
    monkeypatch.setenv("REEFLINE_PLANTED_ADMIN_VARIABLE", "must-not-leak")
    api = make_api()
    token = api.user("alice")
    h = api.as_(token)
    assert api.client.post("/api/teams", json={"name": "lab"}, headers=h).status_code == 201
    assert api.client.post("/api/teams/lab/boards", json={"name": "research"}, headers=h).status_code == 201
    host = engine_host(ServerSettings(home=api.home, job_slots=2), api.db)
    host.poll_every = 0.1
    api.client.app.state.host = host.start()  # type: ignore[attr-defined]
    try:
        yield api, token
    finally:
        host.stop(5.0)


def _push(api: Api, token: str, spec: str, source: bytes | None = None) -> None:
    files = {"spec": ("reefline.yaml", spec.encode(), "application/yaml")}
    if source is not None:
        files["source"] = ("src.tar.gz", source, "application/gzip")
    response = api.client.post("/api/teams/lab/pipelines", files=files, headers=api.as_(token))
    assert response.status_code == 201, response.text


def _wait(api: Api, token: str, run_id: int, timeout: float = 60.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        detail = api.client.get(f"/api/runs/{run_id}", headers=api.as_(token)).json()
        if detail["state"] in {"success", "failed", "canceled", "interrupted"}:
            return detail  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish: {detail['run']}")


def test_a_pushed_pipeline_runs_with_its_source_params_secret_and_a_clean_env(
    served: tuple[Api, str],
) -> None:
    api, token = served
    h = api.as_(token)
    _push(api, token, SPEC, _source())
    secret = "hunter2-very-secret"
    assert (
        api.client.put("/api/teams/lab/secrets/API_KEY", json={"value": secret}, headers=h).status_code == 200
    )
    started = api.client.post(
        "/api/teams/lab/pipelines/hello/runs", json={"params": {"who": "reef"}}, headers=h
    )
    assert started.status_code == 201, started.text
    run = started.json()
    assert run["state"] == "queued" and run["trigger"] == "api"
    detail = _wait(api, token, run["id"])
    assert detail["state"] == "success", detail  # type: ignore[index]
    assert detail["params"] == {"who": "reef"}  # type: ignore[index]
    logs = api.client.get(f"/api/runs/{run['id']}/logs", headers=h).json()
    texts = [line["text"] for line in logs]
    assert "HELLO, REEF" in texts
    assert "key=****" in texts and not any(secret in t for t in texts)
    workspace = api.home.workspace(run["id"])
    env = dict(line.split("=", 1) for line in (workspace / "env.txt").read_text().splitlines() if "=" in line)
    assert "REEFLINE_PLANTED_ADMIN_VARIABLE" not in env and "REEFLINE_DATABASE_URL" not in env
    assert env["HOME"].startswith(str(workspace))
    with api.db.connect() as conn:  # the secret is nowhere in clear in the database
        for table in ("log_lines", "runs", "jobs", "audit_log", "state_changes"):
            rows = conn.execute(text(f"SELECT * FROM {table}")).all()
            assert secret not in json.dumps([list(map(str, r)) for r in rows]), table


def test_events_replay_and_resume_without_loss_or_duplicates(served: tuple[Api, str]) -> None:
    api, token = served
    h = api.as_(token)
    _push(api, token, SPEC, _source())
    run_id = api.client.post("/api/teams/lab/pipelines/hello/runs", json={}, headers=h).json()["id"]
    _wait(api, token, run_id)

    def read(last: str | None) -> list[tuple[str, str, dict[str, object]]]:
        headers = {**h, **({"Last-Event-ID": last} if last else {})}
        with api.client.stream("GET", f"/api/runs/{run_id}/events", headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            body = "".join(response.iter_text())
        frames = []
        for block in body.split("\n\n"):
            fields = dict(
                line.split(": ", 1)
                for line in block.splitlines()
                if ": " in line and not line.startswith(":")
            )
            if "event" in fields:
                frames.append((fields["id"], fields["event"], json.loads(fields["data"])))
        return frames

    everything = read(None)
    kinds = [kind for _, kind, _ in everything]
    assert kinds[-1] == "end" and everything[-1][2] == {"state": "success"}
    assert "state" in kinds and "log" in kinds
    assert any(d.get("job") is None and d.get("to") == "success" for _, k, d in everything if k == "state")
    half = len(everything) // 2
    resumed = read(everything[half - 1][0])
    assert [f[1:] for f in everything[:half] + resumed] == [f[1:] for f in everything]


def test_cancel_a_running_run_and_retry_it(served: tuple[Api, str]) -> None:
    api, token = served
    h = api.as_(token)
    _push(api, token, SLOW)
    run_id = api.client.post("/api/teams/lab/pipelines/slow/runs", json={}, headers=h).json()["id"]
    deadline = time.monotonic() + 30
    while api.client.get(f"/api/runs/{run_id}", headers=h).json()["state"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    began = time.monotonic()
    assert api.client.post(f"/api/runs/{run_id}/cancel", headers=h).status_code == 202
    assert _wait(api, token, run_id, timeout=20)["state"] == "canceled"  # type: ignore[index]
    assert time.monotonic() - began < 15
    again = api.client.post(f"/api/runs/{run_id}/cancel", headers=h)
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    retried = api.client.post(f"/api/runs/{run_id}/retry", headers=h)
    assert retried.status_code == 202 and retried.json()["state"] == "queued"
    api.client.post(f"/api/runs/{run_id}/cancel", headers=h)
    assert _wait(api, token, run_id, timeout=20)["state"] == "canceled"  # type: ignore[index]


def test_runs_of_another_team_are_not_found(served: tuple[Api, str]) -> None:
    api, token = served
    _push(api, token, SLOW)
    run_id = api.client.post("/api/teams/lab/pipelines/slow/runs", json={}, headers=api.as_(token)).json()[
        "id"
    ]
    mallory = api.as_(api.user("mallory"))
    for method, path in (("GET", ""), ("GET", "/logs"), ("POST", "/cancel"), ("GET", "/events")):
        theirs = api.client.request(method, f"/api/runs/{run_id}{path}", headers=mallory)
        nothing = api.client.request(method, f"/api/runs/999999{path}", headers=mallory)
        assert theirs.status_code == nothing.status_code == 404
        assert theirs.json()["error"]["message"] == nothing.json()["error"]["message"].replace(
            "999999", str(run_id)
        )
    api.client.post(f"/api/runs/{run_id}/cancel", headers=api.as_(token))


def test_a_cache_hit_never_crosses_teams(served: tuple[Api, str]) -> None:
    api, alice = served
    bob = api.user("bob")
    hb = api.as_(bob)
    assert api.client.post("/api/teams", json={"name": "other"}, headers=hb).status_code == 201
    assert (
        api.client.post("/api/teams/other/boards", json={"name": "research"}, headers=hb).status_code == 201
    )
    _push(api, alice, SPEC, _source())
    files = {
        "spec": ("reefline.yaml", SPEC.encode(), "application/yaml"),
        "source": ("s.tgz", _source(), "application/gzip"),
    }
    assert api.client.post("/api/teams/other/pipelines", files=files, headers=hb).status_code == 201

    def states(team: str, headers: dict[str, str]) -> list[str]:
        run_id = api.client.post(f"/api/teams/{team}/pipelines/hello/runs", json={}, headers=headers).json()[
            "id"
        ]
        detail = _wait(api, alice if team == "lab" else bob, run_id)
        return [job["state"] for job in detail["jobs"]]  # type: ignore[index]

    assert states("lab", api.as_(alice)) == ["success", "success"]
    assert states("other", hb) == ["success", "success"]  # the same definition and inputs: not reused
    # Within a team it is (`shout` declares no outputs: such a job always runs).
    assert states("lab", api.as_(alice)) == ["cached", "success"]
