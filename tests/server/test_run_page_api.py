"""What the run page reads: a run's jobs with outputs (type, size, hash), metrics and timed attempts,
and the whole log as a download (past the store's cap, secrets masked)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from reefline.server.serve import engine_host
from reefline.server.settings import ServerSettings
from tests.server.conftest import Api

SPEC = """\
version: 1
name: chatty
board: research
jobs:
  talk:
    script:
      - echo "key=$API_KEY"
      - for i in $(seq 1 300); do echo "line $i"; done
      - printf 'hello' > out.txt
      - |
        printf '{"accuracy": 0.75}' > m.json
    outputs:
      said: {path: out.txt, type: text}
    metrics: m.json
  after:
    needs: [talk]
    matrix: {n: [1, 2]}
    script: echo "after ${{ matrix.n }}"
"""
SECRET = "s3cr3t-value-for-masking"
UNFINISHED = {"queued", "pending", "running", "canceling"}


@pytest.fixture
def finished(make_api: Callable[[], Api], monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Api, Any, int]]:
    monkeypatch.setenv("REEFLINE_LOG_MAX_LINES", "40")
    api = make_api()
    h = api.as_(api.user("alice"))
    assert api.client.post("/api/teams", json={"name": "lab"}, headers=h).status_code == 201
    assert api.client.post("/api/teams/lab/boards", json={"name": "research"}, headers=h).status_code == 201
    assert (
        api.client.put("/api/teams/lab/secrets/API_KEY", json={"value": SECRET}, headers=h).status_code == 200
    )
    files = {"spec": ("reefline.yaml", SPEC.encode(), "application/yaml")}
    assert api.client.post("/api/teams/lab/pipelines", files=files, headers=h).status_code == 201
    host = engine_host(ServerSettings(home=api.home, job_slots=2), api.db)
    host.poll_every = 0.1
    host.start()
    try:
        run_id = api.client.post("/api/teams/lab/pipelines/chatty/runs", json={}, headers=h).json()["id"]
        deadline = time.monotonic() + 60
        while (detail := api.client.get(f"/api/runs/{run_id}", headers=h).json())["state"] in UNFINISHED:
            assert time.monotonic() < deadline, detail
            time.sleep(0.1)
        assert detail["state"] == "success", [(j["name"], j["state"], j["reason"]) for j in detail["jobs"]]
    finally:
        host.stop(5.0)
    yield api, h, run_id


def test_the_run_detail_has_outputs_metrics_and_timed_attempts(finished: tuple[Api, Any, int]) -> None:
    api, h, run_id = finished
    jobs = {j["name"]: j for j in api.client.get(f"/api/runs/{run_id}", headers=h).json()["jobs"]}
    talk = jobs["talk"]
    said = next(o for o in talk["outputs"] if o["name"] == "said")
    assert (said["type"], said["size"], said["sha256"]) == ("text", 5, hashlib.sha256(b"hello").hexdigest())
    assert talk["metrics"] == {"accuracy": 0.75}
    [attempt] = talk["attempt_history"]
    assert attempt["started_at"] <= attempt["finished_at"] and attempt["duration"] >= 0
    assert jobs["after[n=1]"]["attempt_history"][0]["started_at"] >= attempt["finished_at"]


def test_the_download_is_the_whole_masked_log_as_an_attachment(finished: tuple[Api, Any, int]) -> None:
    api, h, run_id = finished
    stored = api.client.get(f"/api/runs/{run_id}/logs?job=talk&limit=5000", headers=h).json()
    assert len(stored) < 300  # the store keeps head and tail only
    response = api.client.get(f"/api/runs/{run_id}/logs/download?job=talk", headers=h)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["content-disposition"] == f'attachment; filename="run-{run_id}-talk.log"'
    lines = response.text.splitlines()
    assert [x for x in lines if x.startswith("line ")] == [f"line {i}" for i in range(1, 301)]
    assert "key=****" in lines and SECRET not in response.text
    matrix = api.client.get(f"/api/runs/{run_id}/logs/download?job=after", headers=h).text
    assert "after[n=1] | after 1\n" in matrix and "after[n=2] | after 2\n" in matrix
    everything = api.client.get(f"/api/runs/{run_id}/logs/download", headers=h).text
    assert "talk | line 300\n" in everything and "after[n=2] | after 2\n" in everything
    unknown = api.client.get(f"/api/runs/{run_id}/logs/download?job=nope", headers=h)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
