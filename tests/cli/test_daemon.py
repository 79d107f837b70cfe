"""Commands through the warm daemon (cli/daemon.py, cli/daemon_client.py), with real processes: the
first command starts it, later ones run in its forks with their own folder, environment, streams,
signals and exit codes; a dead daemon or an unsafe socket folder falls back to a process of its own.

The rest of the suite runs with REEFLINE_DAEMON=off (tests/conftest.py); these tests turn it on."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REEFLINE = str(Path(sys.executable).with_name("reefline"))

SPEC = """\
version: 1
name: warm
jobs:
  hello:
    script: echo "greeting=$GREETING"
"""
FAILING = 'version: 1\nname: bad\njobs:\n  broken:\n    script: "exit 4"\n'
SLEEPING = 'version: 1\nname: slow\njobs:\n  nap:\n    script: "sleep 61.7"\n'


class Daemon:
    def __init__(self, root: Path) -> None:
        self.runtime = root / "runtime"
        self.runtime.mkdir(mode=0o700)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("REEFLINE_")}
        self.env.update(XDG_RUNTIME_DIR=str(self.runtime), REEFLINE_DAEMON_IDLE="60")
        self.env["REEFLINE_DATABASE_URL"] = f"sqlite:///{root / 'store.db'}"

    @property
    def folder(self) -> Path:
        return self.runtime / "reefline"

    def log(self) -> str:
        return "".join(p.read_text() for p in self.folder.glob("*.log"))

    def pids(self) -> list[int]:
        return [int(pid) for pid in re.findall(r"serving \S+ \(pid (\d+)\)", self.log())]

    def served(self) -> list[str]:
        return re.findall(r"^\S+ \S+ (\S+) \(worker \d+\): (\{.*\})$", self.log(), flags=re.M)

    def start(self, project: Path) -> None:
        """A first command (it starts the daemon), then wait until the daemon listens."""
        assert self.reefline(project, "runs").returncode == 0
        deadline = time.monotonic() + 60
        while not list(self.folder.glob("*.sock")):
            assert time.monotonic() < deadline, self.log()
            time.sleep(0.1)

    def reefline(
        self, project: Path, *args: str, umask: int = -1, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [REEFLINE, *args],
            cwd=project,
            env={**self.env, **env},
            umask=umask,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def stop(self) -> None:
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    warm = Daemon(tmp_path)
    yield warm
    warm.stop()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "reefline.yaml").write_text(SPEC)
    return root


def test_commands_run_in_the_daemon_with_their_folder_environment_and_exit_codes(
    daemon: Daemon, project: Path, tmp_path: Path
) -> None:
    daemon.start(project)
    ran = daemon.reefline(project, "run", "--plain", GREETING="hello from the client")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "run 1 success" in ran.stdout
    logs = daemon.reefline(project, "logs", "last", "hello")
    assert "greeting=hello from the client" in logs.stdout, "the job saw the client's environment"

    wide = {f"WIDE_{n}": "x" * 100_000 for n in range(8)}  # 800 KB: more than one socket message
    assert daemon.reefline(project, "show", "last", **wide).returncode == 0
    missing = daemon.reefline(project, "show", "999")
    assert missing.returncode == 2 and missing.stderr.startswith("error: no run 999"), missing.stderr

    other = tmp_path / "other"
    other.mkdir()
    (other / "reefline.yaml").write_text(FAILING)
    failed = daemon.reefline(other, "run", "--plain")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "broken failed" in failed.stdout, "the command ran in the client's folder"

    served = daemon.served()
    assert [command for command, _ in served] == ["run", "logs", "show", "show", "run"], daemon.log()
    assert [status for _, status in served] == ["{'exit': 0}"] * 3 + ["{'exit': 2}", "{'exit': 1}"]
    assert len(daemon.pids()) == 1, "one daemon served them all"


def test_a_command_keeps_its_umask(daemon: Daemon, tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir()
    spec = 'version: 1\nname: mask\njobs:\n  touch:\n    script: "touch made"\n'
    (private / "reefline.yaml").write_text(spec)
    daemon.start(private)
    assert daemon.reefline(private, "run", "--plain", umask=0o077).returncode == 0
    assert daemon.served()[-1] == ("run", "{'exit': 0}")
    assert (private / "made").stat().st_mode & 0o777 == 0o600


def test_ctrl_c_reaches_the_command_and_a_killed_client_cancels_its_run(
    daemon: Daemon, tmp_path: Path
) -> None:
    slow = tmp_path / "slow"
    slow.mkdir()
    (slow / "reefline.yaml").write_text(SLEEPING)
    daemon.start(slow)
    for sig, code in ((signal.SIGINT, 130), (signal.SIGKILL, -9)):
        command = [REEFLINE, "run", "--plain"]
        client = subprocess.Popen(command, cwd=slow, env=daemon.env, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while "running" not in daemon.reefline(slow, "show", "last").stdout:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        client.send_signal(sig)
        assert client.wait(timeout=60) == code
        deadline = time.monotonic() + 60
        while "canceled" not in (shown := daemon.reefline(slow, "show", "last").stdout):
            assert time.monotonic() < deadline, shown
            time.sleep(0.2)
        assert "canceled by the user" in shown
    leftovers = subprocess.run(["pgrep", "-f", "sleep 61.7"], capture_output=True, text=True, check=False)
    assert leftovers.stdout == "", "no job outlives its canceled run"


def test_a_dead_daemon_is_replaced_and_the_command_still_runs(daemon: Daemon, project: Path) -> None:
    daemon.start(project)
    [first] = daemon.pids()
    os.kill(first, signal.SIGKILL)
    time.sleep(0.2)
    ran = daemon.reefline(project, "run", "--plain")
    assert ran.returncode == 0, ran.stderr
    deadline = time.monotonic() + 60
    while len(daemon.pids()) < 2:
        assert time.monotonic() < deadline, daemon.log()
        time.sleep(0.1)
    time.sleep(0.5)
    assert daemon.reefline(project, "show", "last").returncode == 0
    assert daemon.served()[-1] == ("show", "{'exit': 0}"), "the new daemon serves"


@pytest.mark.parametrize("how", ["switched off", "folder open to others"])
def test_no_daemon_when_switched_off_or_when_its_folder_is_not_private(
    daemon: Daemon, project: Path, how: str
) -> None:
    env = {}
    if how == "switched off":
        env["REEFLINE_DAEMON"] = "off"
    else:
        daemon.folder.mkdir(mode=0o700)
        daemon.folder.chmod(0o777)
    for _ in range(2):
        ran = daemon.reefline(project, "run", "--plain", **env)
        assert ran.returncode == 0, ran.stderr
        time.sleep(0.5)
    assert not list(daemon.runtime.rglob("*.sock")) and daemon.served() == []


def test_a_daemon_log_past_its_size_starts_over_when_a_daemon_starts(daemon: Daemon, project: Path) -> None:
    from reefline.cli.daemon_client import LOG_KEEP_BYTES

    daemon.start(project)
    [log] = daemon.folder.glob("*.log")
    daemon.stop()
    with log.open("a") as grown:
        grown.write("x" * LOG_KEEP_BYTES + "\n")
    ran = daemon.reefline(project, "run", "--plain")
    assert ran.returncode == 0, ran.stderr
    deadline = time.monotonic() + 60
    while not daemon.pids():
        assert time.monotonic() < deadline, daemon.log()
        time.sleep(0.1)
    kept = log.with_name(log.name + ".1")
    assert kept.stat().st_size > LOG_KEEP_BYTES and "serving" in kept.read_text()
    assert log.stat().st_size < 10_000
