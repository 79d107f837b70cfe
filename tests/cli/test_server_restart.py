"""Kill a `reefline server` (SIGKILL) in the middle of a run, start it again: the run finishes, what
had succeeded is kept, and the job that was running gets a new attempt."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx

from tests.cli.test_remote import PASSWORD, REEFLINE, Server, _start

SPEC = """\
version: 1
name: resumable
board: ops
jobs:
  first:
    script: echo once >> first-ran.txt && echo 1 > first.txt
    outputs:
      marker: {path: first.txt, type: file}
  # writes its output on the second attempt only: the first one is killed with the server
  # (the counters live in the run's workspace: a server's jobs are sandboxed and write nowhere else)
  second:
    needs: [first]
    retry: 1
    script:
      - echo attempt >> second-ran.txt
      - 'if [ "$(wc -l < second-ran.txt)" -lt 2 ]; then sleep 60; fi'
      - echo done > second.txt
    outputs:
      done: {path: second.txt, type: file}
  third:
    needs: [second]
    script: cat second.txt
"""


def _detail(server: Server, run_id: int) -> dict[str, object]:
    return json.loads(server.ok("show", str(run_id), "--server", server.url, "--json").stdout)  # type: ignore[no-any-return]


def _jobs(detail: dict[str, object]) -> dict[str, dict[str, object]]:
    return {job["name"]: job for job in detail["jobs"]}  # type: ignore[attr-defined, index]


def _restart(server: Server, log: Path) -> None:
    port = server.url.rsplit(":", 1)[1]
    with log.open("ab") as out:
        server.process = subprocess.Popen(
            [REEFLINE, "server", "--port", port], env=server.env, stdout=out, stderr=out
        )
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{server.url}/api/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


def test_a_run_killed_with_its_server_finishes_after_a_restart(tmp_path: Path) -> None:
    with _start(tmp_path, None) as server:
        server.ok("login", "--server", server.url, "-u", "alice", "--password-stdin", input=PASSWORD + "\n")
        project = server.work / "resumable"
        project.mkdir()
        (project / "reefline.yaml").write_text(SPEC)
        server.ok("push", "--board", "ops", "-m", "first", cwd=project)
        queued = server.ok("run", "--server", server.url, "--no-follow", cwd=project).stdout
        run_id = int(queued.split()[1])
        deadline = time.monotonic() + 60
        while _jobs(_detail(server, run_id))["second"]["state"] != "running":
            assert time.monotonic() < deadline, _detail(server, run_id)
            time.sleep(0.2)
        assert server.process is not None
        server.process.kill()
        server.process.wait(10)

        _restart(server, tmp_path / "server.log")
        deadline = time.monotonic() + 90
        while (detail := _detail(server, run_id))["state"] not in {"success", "failed", "interrupted"}:  # type: ignore[index]
            assert time.monotonic() < deadline, detail
            time.sleep(0.3)
        assert detail["state"] == "success", detail  # type: ignore[index]
        jobs = _jobs(detail)
        assert [jobs[name]["attempts"] for name in ("first", "second", "third")] == [1, 2, 1]  # type: ignore[arg-type]
        workspace = tmp_path / "home" / "workspaces" / str(run_id)
        assert (workspace / "first-ran.txt").read_text() == "once\n"  # not run again
        assert (workspace / "second-ran.txt").read_text() == "attempt\nattempt\n"
