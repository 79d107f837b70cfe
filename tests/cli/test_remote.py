"""The CLI against a real `reefline server` subprocess: login, push, run --server, runs/show/logs,
cancel, revisions/diff/rollback, and the errors a user meets."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.clean_env import without_reefline_settings
from tests.conftest import fresh_postgres_database

REPO = Path(__file__).resolve().parents[2]
REEFLINE = str(Path(sys.executable).parent / "reefline")
PASSWORD = "correct horse battery"
TIMEOUT = 120

SLOW_SPEC = """\
version: 1
name: slow
jobs:
  wait:
    script:
      - echo waiting
      - sleep 60
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    env: dict[str, str]
    config: Path
    work: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def cli(
        self, *args: str, input: str | None = None, cwd: Path | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [REEFLINE, *args],
            input=input,
            capture_output=True,
            text=True,
            cwd=cwd or self.work,
            env={**self.env, **env},
            timeout=TIMEOUT,
            check=False,
        )

    def ok(self, *args: str, **kwargs: str) -> subprocess.CompletedProcess[str]:
        result = self.cli(*args, **kwargs)
        assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
        return result


@contextmanager
def _start(tmp: Path, database_url: str | None) -> Iterator[Server]:
    env = without_reefline_settings()
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # jobs need sklearn
    env.update(REEFLINE_HOME=str(tmp / "home"), XDG_CONFIG_HOME=str(tmp / "config"), NO_COLOR="1")
    if database_url:
        env["REEFLINE_DATABASE_URL"] = database_url
    port = _free_port()
    work = tmp / "work"
    work.mkdir()
    server = Server(f"http://127.0.0.1:{port}", env, tmp / "config", work)
    server.ok("admin", "create-user", "alice", "--admin", "--password-stdin", input=PASSWORD + "\n")
    server.ok("admin", "create-team", "research", "--owner", "alice")
    log = (tmp / "server.log").open("wb")
    server.process = subprocess.Popen(
        [REEFLINE, "server", "--port", str(port), "--job-slots", "2"], env=env, stdout=log, stderr=log
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{server.url}/api/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert server.process.poll() is None, (tmp / "server.log").read_text()
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.2)
    try:
        yield server
    finally:
        server.process.terminate()
        try:
            server.process.wait(15)
        except subprocess.TimeoutExpired:
            server.process.kill()
        log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with _start(tmp_path_factory.mktemp("remote"), None) as started:
        yield started


@pytest.fixture(scope="module")
def signed_in(server: Server) -> Server:
    result = server.ok(
        "login", "--server", server.url, "--username", "alice", "--password-stdin", input=PASSWORD + "\n"
    )
    assert "signed in to" in result.stdout and "alice" in result.stdout
    return server


@pytest.fixture(scope="module")
def iris(signed_in: Server) -> Path:
    """The iris example, pushed as revision 1 of research/iris."""
    project = signed_in.work / "iris"
    shutil.copytree(REPO / "examples" / "iris", project)
    result = signed_in.ok("push", "-m", "first", "--board", "ml", cwd=project)
    # "created board ml in team research" first, unless a test on this server made it already
    assert result.stdout.splitlines()[-1] == "revision 1 of research/iris"
    return project


def test_login_stores_a_token_only_the_user_can_read(signed_in: Server) -> None:
    path = signed_in.config / "reefline" / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    token = json.loads(path.read_text())["servers"][signed_in.url]["token"]
    assert PASSWORD not in path.read_text()
    me = httpx.get(f"{signed_in.url}/api/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["username"] == "alice"


def test_wrong_password_is_an_error_not_a_traceback(server: Server, tmp_path: Path) -> None:
    result = server.cli(
        "login", "--server", server.url, "-u", "alice", "--password-stdin",
        input="wrong\n", XDG_CONFIG_HOME=str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert not (tmp_path / "reefline" / "credentials.json").exists()


def test_without_a_login_the_error_names_reefline_login(server: Server, tmp_path: Path) -> None:
    result = server.cli("runs", "--server", server.url, XDG_CONFIG_HOME=str(tmp_path))
    assert result.returncode == 2
    assert f"`reefline login --server {server.url}`" in result.stderr
    revisions = server.cli("revisions", "iris", XDG_CONFIG_HOME=str(tmp_path))
    assert revisions.returncode == 2 and "reefline login" in revisions.stderr


def test_a_server_that_is_not_there_is_an_error(server: Server) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    result = server.cli("runs", "--server", url, REEFLINE_TOKEN="rl_whatever")
    assert result.returncode == 2
    assert f"cannot reach the server at {url}" in result.stderr and "Traceback" not in result.stderr


def test_a_revoked_or_wrong_token_says_to_log_in_again(server: Server) -> None:
    result = server.cli("runs", "--server", server.url, REEFLINE_TOKEN="rl_not_a_token")
    assert result.returncode == 2
    assert "reefline login" in result.stderr


def test_push_run_follow_and_read_it_back(signed_in: Server, iris: Path) -> None:
    again = signed_in.ok("push", "-m", "same", cwd=iris)
    assert again.stdout.strip() == "unchanged (revision 1 of research/iris)"

    result = signed_in.cli("run", "--server", signed_in.url, "-p", "seed=7", cwd=iris)
    assert result.returncode == 0, result.stdout + result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("run ") and "of research/iris queued" in first
    run_id = int(first.split()[1])
    assert "report success" in result.stdout
    assert any(line.startswith("prepare | ") for line in result.stdout.splitlines())
    assert result.stdout.rstrip().endswith(f"run {run_id} success")

    runs = json.loads(signed_in.ok("runs", "--server", signed_in.url, "--json").stdout)
    assert runs[0]["id"] == run_id and runs[0]["state"] == "success"
    assert runs[0]["params"]["seed"] == 7

    detail = json.loads(signed_in.ok("show", str(run_id), "--server", signed_in.url, "--json").stdout)
    assert {j["name"] for j in detail["jobs"]} >= {"prepare", "train[model=tree]", "report"}
    assert all(j["state"] == "success" for j in detail["jobs"])
    shown = signed_in.ok("show", "last", "--server", signed_in.url).stdout
    assert f"run {run_id} · iris · success" in shown and "train[model=tree]" in shown

    logs = signed_in.ok("logs", str(run_id), "--server", signed_in.url).stdout
    followed = signed_in.ok("logs", str(run_id), "-f", "--server", signed_in.url).stdout
    assert logs == followed and "prepare | " in logs
    one = signed_in.ok("logs", str(run_id), "train", "--server", signed_in.url).stdout
    assert one and all(line.startswith("train[model=") for line in one.splitlines())
    full = signed_in.ok("logs", str(run_id), "prepare", "--full", "--server", signed_in.url).stdout
    assert full and full == signed_in.ok("logs", str(run_id), "prepare", "--server", signed_in.url).stdout
    refused = signed_in.cli("logs", str(run_id), "prepare", "--full", "-f", "--server", signed_in.url)
    assert refused.returncode != 0 and "--full and --follow" in refused.stderr


def test_server_from_the_environment(signed_in: Server, iris: Path) -> None:
    result = signed_in.ok("runs", "--json", REEFLINE_SERVER=signed_in.url)
    assert isinstance(json.loads(result.stdout), list)


def test_an_invalid_spec_is_refused_with_its_diagnostics(signed_in: Server) -> None:
    project = signed_in.work / "broken"
    project.mkdir()
    (project / "reefline.yaml").write_text(
        "version: 1\nname: broken\nboard: ml\njobs:\n  a:\n    needs: [nope]\n"
    )
    result = signed_in.cli("push", "-m", "x", cwd=project)
    assert result.returncode == 2
    assert "reefline.yaml:6:" in result.stderr and ": error: " in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("error: ")


def test_an_unknown_pipeline_is_an_error(signed_in: Server) -> None:
    result = signed_in.cli("run", "nosuch", "--server", signed_in.url)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "nosuch" in result.stderr


def test_ctrl_c_stops_following_and_cancel_stops_the_run(signed_in: Server) -> None:
    project = signed_in.work / "slow"
    project.mkdir()
    (project / "reefline.yaml").write_text(SLOW_SPEC)
    signed_in.ok("push", "-m", "slow", "--board", "ml", cwd=project)
    follower = subprocess.Popen(
        [REEFLINE, "run", "--server", signed_in.url],
        cwd=project,
        env=signed_in.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert follower.stdout is not None
    seen = []
    for line in follower.stdout:  # blocks until the job has started printing
        seen.append(line)
        if line == "wait | waiting\n":
            break
    run_id = int(seen[0].split()[1])
    follower.send_signal(signal.SIGINT)
    _, err = follower.communicate(timeout=30)
    assert follower.returncode == 130
    assert f"run {run_id} goes on on the server" in err and "Traceback" not in err
    detail = json.loads(signed_in.ok("show", str(run_id), "--server", signed_in.url, "--json").stdout)
    assert detail["state"] == "running"

    cancel = signed_in.ok("cancel", str(run_id), "--server", signed_in.url)
    assert cancel.stdout.strip() == f"cancel requested for run {run_id}"
    followed = signed_in.cli("logs", str(run_id), "-f", "--server", signed_in.url)
    assert followed.returncode == 0 and "wait | waiting" in followed.stdout
    detail = json.loads(signed_in.ok("show", str(run_id), "--server", signed_in.url, "--json").stdout)
    assert detail["state"] == "canceled"


def test_revisions_diff_rollback(signed_in: Server, iris: Path) -> None:
    spec = iris / "reefline.yaml"
    spec.write_text(spec.read_text().replace("default: 3,", "default: 4,"))
    assert signed_in.ok("push", "-m", "deeper tree", cwd=iris).stdout.strip() == "revision 2 of research/iris"

    diff = signed_in.ok("diff", "iris", "1", "2").stdout
    assert "-  max_depth: {type: int, default: 3," in diff
    assert "+  max_depth: {type: int, default: 4," in diff

    rolled = signed_in.ok("rollback", "iris", "1", "-m", "back")
    assert rolled.stdout.startswith("revision 3 of research/iris")
    assert signed_in.ok("diff", "iris", "1", "3").stdout == ""

    table = signed_in.ok("revisions", "iris").stdout.splitlines()
    assert table[1].split()[:2] == ["*", "3"]
    assert "deeper tree" in table[2] and "first" in table[3]
    rows = json.loads(signed_in.ok("revisions", "iris", "--json").stdout)
    assert sorted(r["number"] for r in rows) == [1, 2, 3]

    missing = signed_in.cli("diff", "iris", "1", "9")
    assert missing.returncode == 2 and missing.stderr.startswith("error: ")


def test_logout_forgets_the_token(server: Server, tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    server.ok(
        "login", "--server", server.url, "-u", "alice", "--password-stdin", input=PASSWORD + "\n", **env
    )
    stored = json.loads((tmp_path / "reefline" / "credentials.json").read_text())
    token = stored["servers"][server.url]["token"]
    assert httpx.get(f"{server.url}/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert server.ok("logout", **env).stdout.strip() == f"signed out of {server.url}"
    assert "reefline login" in server.cli("runs", "--server", server.url, **env).stderr
    revoked = httpx.get(f"{server.url}/api/me", headers={"Authorization": f"Bearer {token}"})
    assert revoked.status_code == 401  # revoked on the server, not only forgotten here


def test_logout_from_a_server_that_is_gone_forgets_and_warns(server: Server, tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    gone = f"http://127.0.0.1:{_free_port()}"
    stored = tmp_path / "reefline" / "credentials.json"
    stored.parent.mkdir(mode=0o700)
    stored.write_text(json.dumps({"servers": {gone: {"token": "rl_0123abcd_" + "x" * 43}}}))
    stored.chmod(0o600)
    result = server.ok("logout", "--server", gone, **env)
    assert result.stdout.strip() == f"signed out of {gone}"
    assert "stays valid" in result.stderr
    assert server.cli("logout", "--server", gone, **env).returncode != 0  # nothing stored any more


@pytest.mark.postgres
def test_on_postgresql_with_a_given_token(postgres_server_url: str, tmp_path: Path) -> None:
    with fresh_postgres_database(postgres_server_url) as url, _start(tmp_path, url) as pg:
        token = pg.ok("admin", "create-token", "alice", "--name", "ci").stdout.strip().splitlines()[-1]
        assert pg.ok("login", "--server", pg.url, "--token", token).stdout.startswith("signed in to")
        project = pg.work / "slow"
        project.mkdir()
        (project / "reefline.yaml").write_text(SLOW_SPEC.replace("sleep 60", "echo done"))
        pushed = pg.ok("push", "--board", "ops", cwd=project).stdout
        assert pushed.splitlines()[-1] == "revision 1 of research/slow"
        result = pg.cli("run", "--server", pg.url, cwd=project)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "wait | done" in result.stdout
        queued = pg.ok("run", "--server", pg.url, "--no-follow", cwd=project)
        assert queued.stdout.count("\n") == 1
        run_id = queued.stdout.split()[1]
        assert pg.ok("logs", run_id, "-f", "--server", pg.url).stdout == "wait | waiting\nwait | done\n"
