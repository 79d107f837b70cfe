"""On a server, local jobs run in the bubblewrap sandbox whatever their `sandbox:` says: no network,
no writes outside the run's workspace (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reefline.server.serve import engine_host
from reefline.server.settings import ServerSettings
from tests.server.conftest import Api

pytestmark = pytest.mark.skipif(
    shutil.which("bwrap") is None and os.environ.get("CI") != "true",
    reason="bubblewrap (bwrap) is not installed",
)

SPEC = """\
version: 1
name: escape
board: research
jobs:
  try:
    sandbox: false   # a server ignores it
    script:
      - echo inside > inside.txt && echo "workspace ok"
      - (touch {outside} 2>/dev/null && echo "outside WROTE") || echo "outside denied"
      - (python3 -c "import socket; socket.create_connection(('127.0.0.1', {port}), 2)" 2>/dev/null
        && echo "network REACHED") || echo "network denied"
    outputs:
      inside: {{path: inside.txt, type: file}}
"""


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


@pytest.fixture
def outside() -> Iterator[Path]:
    """A folder the server may write, outside /tmp (which is private inside the sandbox)."""
    folder = Path.home() / ".cache" / "reefline-tests" / f"server-sandbox-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    yield folder / "escaped.txt"
    shutil.rmtree(folder)


def test_server_jobs_are_sandboxed(make_api: Callable[[], Api], listener: int, outside: Path) -> None:
    api = make_api()
    h = api.as_(api.user("alice"))
    assert api.client.post("/api/teams", json={"name": "lab"}, headers=h).status_code == 201
    assert api.client.post("/api/teams/lab/boards", json={"name": "research"}, headers=h).status_code == 201
    spec = SPEC.format(outside=outside, port=listener)
    files = {"spec": ("reefline.yaml", spec.encode(), "application/yaml")}
    pushed = api.client.post("/api/teams/lab/pipelines", files=files, headers=h)
    assert pushed.status_code == 201, pushed.text
    host = engine_host(ServerSettings(home=api.home, job_slots=1), api.db)
    host.poll_every = 0.1
    host.start()
    try:
        run_id = api.client.post("/api/teams/lab/pipelines/escape/runs", json={}, headers=h).json()["id"]
        deadline = time.monotonic() + 60
        while (detail := api.client.get(f"/api/runs/{run_id}", headers=h).json())["state"] in (
            "queued",
            "running",
        ):
            assert time.monotonic() < deadline, detail
            time.sleep(0.1)
    finally:
        host.stop(5.0)
    assert detail["state"] == "success", detail
    texts = [line["text"] for line in api.client.get(f"/api/runs/{run_id}/logs", headers=h).json()]
    assert [t for t in texts if t.endswith(("ok", "denied", "WROTE", "REACHED"))] == [
        "workspace ok",
        "outside denied",
        "network denied",
    ]
    assert not outside.exists()
    assert (api.home.workspace(run_id) / "inside.txt").read_text() == "inside\n"
