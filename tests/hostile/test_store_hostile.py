"""Hostile input to the store, through the installed ``reefline`` script, on SQLite and PostgreSQL.

Odd bytes in logs, reasons and metric keys; a second terminal reading while a run writes;
``.reefline/`` deleted mid-run; readers on a missing or old database; a follower whose engine was
killed. Each case: no traceback, the documented exit code, a time bound, nothing written where a
reader looks.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reefline.engine.recovery import kill_leftovers
from tests.conftest import fresh_postgres_database

REEFLINE = str(Path(sys.executable).with_name("reefline"))
TIMEOUT = 60  # a hang-guard; each case takes a few seconds


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The environment of the ``reefline`` subprocesses: the project's SQLite file or a fresh PG database."""
    base = {k: v for k, v in os.environ.items() if k not in ("REEFLINE_DATABASE_URL", "CI")}
    if request.param == "sqlite":
        yield base
        return
    with fresh_postgres_database(request.getfixturevalue("postgres_server_url")) as url:
        yield {**base, "REEFLINE_DATABASE_URL": url}


def reefline(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(
        [REEFLINE, *args], cwd=cwd, env=env, capture_output=True, timeout=TIMEOUT, check=False
    )
    assert b"Traceback" not in result.stdout + result.stderr, result.stderr.decode(errors="replace")
    return result


def start(cwd: Path, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [REEFLINE, *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def wait_for(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def write(folder: Path, spec: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "reefline.yaml").write_text(spec)
    return folder


ODD_BYTES = r"""
version: 1
name: odd
jobs:
  odd:
    script: |
      printf 'nul:\000:end\n'
      printf 'esc:\033[31mred\033[0m\n'
      printf 'bad utf-8:\377\376\n'
      printf 'back\\0slash\n'
      printf '{"a\\u0000b": 1, "esc\\u001b": 2}' > metrics.json
    metrics: metrics.json
"""


def test_nul_esc_and_invalid_utf8_in_logs_and_metric_keys(tmp_path: Path, env: dict[str, str]) -> None:
    project = write(tmp_path / "p", ODD_BYTES)
    run = reefline(project, env, "run")
    assert run.returncode == 0, run.stdout.decode(errors="replace") + run.stderr.decode(errors="replace")
    logs = reefline(project, env, "logs", "last", "odd")
    assert logs.returncode == 0
    assert logs.stdout.splitlines() == [
        b"nul:\x00:end",
        b"esc:\x1b[31mred\x1b[0m",
        "bad utf-8:\ufffd\ufffd".encode(),
        b"back\\0slash",
    ]
    shown = json.loads(reefline(project, env, "show", "last", "--json").stdout)
    assert shown["state"] == "success"
    metrics = shown["jobs"][0]["metrics"]
    assert metrics == {"a\x00b": 1, "esc\x1b": 2}
    history = [(c["job"], c["to"]) for c in shown["history"]]
    assert history[-1] == (None, "success") and ("odd", "running") in history


def test_a_second_terminal_reads_while_a_run_writes(tmp_path: Path, env: dict[str, str]) -> None:
    project = write(
        tmp_path / "p",
        "version: 1\nname: busy\njobs:\n  chatty:\n"
        '    script: ["for i in $(seq 1 40); do echo line $i; sleep 0.05; done"]\n',
    )
    runner = start(project, env, "run")
    try:
        reads = 0
        while runner.poll() is None or reads < 3:
            for args in (("runs",), ("show", "last", "--json"), ("logs", "last")):
                result = reefline(project, env, *args)
                assert result.returncode in (0, 2), result.stderr
                if result.returncode == 2:  # only before the run's first row exists
                    assert b"no runs yet" in result.stderr, result.stderr
            reads += 1
        assert runner.wait(TIMEOUT) == 0
    finally:
        runner.kill()
        runner.wait()
    lines = reefline(project, env, "logs", "last", "chatty").stdout.splitlines()
    assert lines == [f"line {i}".encode() for i in range(1, 41)]


def test_deleting_dot_reefline_mid_run_does_not_let_a_second_run_start(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("REEFLINE_DATABASE_URL", "CI")}
    project = write(
        tmp_path / "p",
        # The job waits for the test (a file `go`), however slow the machine.
        'version: 1\nname: del\njobs:\n  slow: {script: ["while [ ! -f go ]; do sleep 0.05; done", '
        '"echo done > done.txt"]}\n',
    )
    first = start(project, env, "run")
    try:
        wait_for(
            lambda: (project / ".reefline" / "reefline.db").exists() and b"running" in _peek(first), "start"
        )
        subprocess.run(["rm", "-rf", str(project / ".reefline")], check=True)
        second = reefline(project, env, "run")
        assert second.returncode == 2
        assert second.stderr.startswith(b"error: another reefline run"), second.stderr
        (project / "go").touch()
        # Its store is gone: it ends as it can (0, or error: naming the database), never a traceback.
        assert first.wait(TIMEOUT) in (0, 2)
        assert first.stderr is not None
        assert b"Traceback" not in _peek(first) + first.stderr.read()
    finally:
        first.kill()
        first.wait()
    assert (project / "done.txt").read_text() == "done\n"


_PEEKED: dict[int, bytes] = {}


def _peek(proc: subprocess.Popen[bytes]) -> bytes:
    """What a background `reefline run` printed so far (its plain progress lines)."""
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    chunk = proc.stdout.read() or b""
    _PEEKED[proc.pid] = _PEEKED.get(proc.pid, b"") + chunk
    return _PEEKED[proc.pid]


def _tree_hash(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_readers_on_a_missing_project_or_database_write_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("REEFLINE_DATABASE_URL", "CI")}
    for args in (("runs",), ("show", "last"), ("logs", "last"), ("logs", "last", "-f")):
        result = reefline(tmp_path, env, "-C", "typo", *args)
        assert result.returncode == 2 and result.stderr.startswith(b"error: no project at"), result.stderr
        assert not (tmp_path / "typo").exists()
    project = write(tmp_path / "fresh", "version: 1\nname: fresh\njobs:\n  a: {script: [true]}\n")
    assert reefline(project, env, "runs").stdout.startswith(b"no runs yet")
    shown = reefline(project, env, "show", "last")
    assert shown.returncode == 2 and b"no runs yet" in shown.stderr
    assert not (project / ".reefline").exists()


def test_readers_do_not_migrate_an_old_database(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import text

    from reefline.store.db import HEAD_REVISION, alembic_config, open_database

    env = {k: v for k, v in os.environ.items() if k not in ("REEFLINE_DATABASE_URL", "CI")}
    project = write(tmp_path / "old", "version: 1\nname: old\njobs:\n  a: {script: [true]}\n")
    (project / ".reefline").mkdir()
    engine = open_database(f"sqlite:///{project / '.reefline' / 'reefline.db'}", migrate=False)
    with engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    engine.dispose()
    before = _tree_hash(project / ".reefline")
    for args in (("runs",), ("show", "last"), ("logs", "last")):
        result = reefline(project, env, *args)
        assert result.returncode == 2, result
        assert b"older Reefline" in result.stderr and b"`reefline run` once" in result.stderr
    assert _tree_hash(project / ".reefline") == before
    assert reefline(project, env, "run").returncode == 0  # a writer upgrades it
    engine = open_database(f"sqlite:///{project / '.reefline' / 'reefline.db'}", migrate=False)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD_REVISION
    engine.dispose()


def test_follow_stops_when_the_engine_was_killed(tmp_path: Path, env: dict[str, str]) -> None:
    project = write(
        tmp_path / "p", 'version: 1\nname: doomed\njobs:\n  long: {script: ["echo started", "sleep 60"]}\n'
    )
    engine = start(project, env, "run")
    try:
        wait_for(lambda: b"long running" in _peek(engine), "the job to run")
        wait_for(lambda: b"started" in reefline(project, env, "logs", "last").stdout, "the first line")
        engine.send_signal(signal.SIGKILL)
        engine.wait()
        before = time.monotonic()
        follow = reefline(project, env, "logs", "last", "-f")
        assert time.monotonic() - before < TIMEOUT
        assert follow.returncode == 0
        assert follow.stdout.endswith(b"started\n")
        assert b"is gone; the run is interrupted" in follow.stderr, follow.stderr
        runs = reefline(project, env, "runs")
        assert b"interrupted" in runs.stdout
    finally:
        engine.kill()
        engine.wait()
        kill_leftovers(1, str(project.resolve()))  # run 1: the database is fresh
