"""``reefline checkout RUN --server`` against a real ``reefline server``: a run's outputs (a file and
a directory) downloaded into a fresh workspace, left alone when already there, and the errors a user
meets (an unknown job, outputs the server's gc removed)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli.test_remote import PASSWORD, Server, _start

SPEC = """\
version: 1
name: outs
jobs:
  make:
    script:
      - mkdir -p out/deep && echo one > out/a.txt && echo two > out/deep/b.txt
      - printf '#!/bin/sh\\necho hi\\n' > out/run.sh && chmod +x out/run.sh
      - echo 42 > answer.txt
    outputs:
      answer: {path: answer.txt, type: text}
      folder: {path: out, type: directory}
"""


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, int]]:
    with _start(tmp_path_factory.mktemp("checkout"), None) as server:
        server.ok(
            "login", "--server", server.url, "--username", "alice", "--password-stdin", input=PASSWORD + "\n"
        )
        project = server.work / "outs"
        project.mkdir()
        (project / "reefline.yaml").write_text(SPEC)
        server.ok("push", "-m", "first", "--board", "ml", cwd=project)
        server.ok("run", "--server", server.url, cwd=project)
        token = json.loads((server.config / "reefline" / "credentials.json").read_text())["servers"][
            server.url
        ]
        runs = httpx.get(
            f"{server.url}/api/teams/research/runs", headers={"Authorization": f"Bearer {token['token']}"}
        ).json()
        yield server, int(runs[0]["id"])


def test_checkout_downloads_a_server_runs_outputs_into_the_workspace(
    ran: tuple[Server, int], tmp_path: Path
) -> None:
    server, run_id = ran
    result = server.ok("checkout", str(run_id), "--server", server.url, cwd=tmp_path)
    assert f"run {run_id}: 2 restored, 0 up to date, 0 missing" in result.stdout
    assert (tmp_path / "answer.txt").read_text() == "42\n"
    assert (tmp_path / "out" / "deep" / "b.txt").read_text() == "two\n"
    assert (tmp_path / "out" / "run.sh").stat().st_mode & 0o111, "the executable bit came along"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".reefline-checkout-")]
    (tmp_path / "answer.txt").write_text("changed\n")
    again = server.ok("checkout", "last", "make", "--server", server.url, cwd=tmp_path)
    assert "restored:   answer.txt (make.answer)" in again.stdout
    assert "up to date: out (make.folder)" in again.stdout
    assert (tmp_path / "answer.txt").read_text() == "42\n"


def test_checkout_of_an_unknown_job_or_run_says_so(ran: tuple[Server, int], tmp_path: Path) -> None:
    server, run_id = ran
    job = server.cli("checkout", str(run_id), "nope", "--server", server.url, cwd=tmp_path)
    assert job.returncode == 2 and f"run {run_id} has no job 'nope' (its jobs: make)" in job.stderr
    run = server.cli("checkout", "999999", "--server", server.url, cwd=tmp_path)
    assert run.returncode == 2 and "no run 999999" in run.stderr
    assert "Traceback" not in job.stderr + run.stderr


def test_outputs_the_servers_gc_removed_are_reported_missing(ran: tuple[Server, int], tmp_path: Path) -> None:
    server, run_id = ran
    token = json.loads((server.config / "reefline" / "credentials.json").read_text())["servers"][server.url]
    gc = httpx.post(
        f"{server.url}/api/admin/gc",
        json={"keep_last": 0},
        headers={"Authorization": f"Bearer {token['token']}"},
    )
    assert gc.status_code == 200 and gc.json()["removed"] > 0, gc.text
    result = server.cli("checkout", str(run_id), "--server", server.url, cwd=tmp_path)
    assert result.returncode == 2
    assert (
        "missing:    answer.txt (make.answer): the server: the artifact store no longer has" in result.stdout
    )
    assert "2 output(s) of run" in result.stderr
    assert not (tmp_path / "answer.txt").exists()
