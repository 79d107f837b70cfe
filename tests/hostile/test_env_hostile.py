"""Hostile environments, each through the installed ``reefline`` script: ``error: <message>``, exit 2.

Never a traceback, never exit 1 (that means "the run failed"), and nothing written where it should
not be: a mistyped project stays missing, a corrupt database keeps its bytes, a job does not run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REEFLINE = str(Path(sys.executable).with_name("reefline"))
TIMEOUT = 60  # a hang-guard: each case takes well under a second
SPEC = """\
version: 1
name: hostile
jobs:
  make:
    script: echo made > out.txt
    outputs:
      out: {path: out.txt, type: file}
"""


def reefline(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("REEFLINE_DATABASE_URL", "CI")}
    return subprocess.run(
        [REEFLINE, *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def assert_clean_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output
    assert result.stderr.startswith("error: "), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "reefline.yaml").write_text(SPEC)
    return folder


BAD_URLS = [
    pytest.param("garbage", "is not a database URL", id="garbage"),
    pytest.param(
        "oracle://scott:tiger@db.example/x", "driver for oracle://scott:***@db.example/x", id="oracle"
    ),
    pytest.param("mysql://root@localhost/x", "driver for mysql://root@localhost/x", id="mysql"),
    pytest.param("frob://host/x", "unsupported database 'frob'", id="unknown-dialect"),
    pytest.param(
        "postgresql+psycopg://u:hunter2@127.0.0.1:1/x", "cannot connect to the database", id="refused-port"
    ),
]


@pytest.mark.parametrize(("url", "needle"), BAD_URLS)
@pytest.mark.parametrize("command", [["runs"], ["show", "last"], ["run", "--plain"]])
def test_bad_database_url(project: Path, url: str, needle: str, command: list[str]) -> None:
    result = reefline(project, *command, env={"REEFLINE_DATABASE_URL": url})
    assert_clean_error(result, needle)
    assert "hunter2" not in result.stderr and "tiger" not in result.stderr
    assert not (project / "out.txt").exists(), "the job ran without a database"
    if command[0] != "run":
        assert sorted(p.name for p in project.iterdir()) == ["reefline.yaml"]


@pytest.mark.postgres
def test_missing_postgres_database(project: Path, postgres_server_url: str) -> None:
    from sqlalchemy import make_url

    url = make_url(postgres_server_url).set(database="reefline_hostile_missing")
    result = reefline(
        project, "runs", env={"REEFLINE_DATABASE_URL": url.render_as_string(hide_password=False)}
    )
    assert_clean_error(result, 'database "reefline_hostile_missing" does not exist')


def _store(project: Path) -> Path:
    return project / ".reefline" / "reefline.db"


@pytest.mark.parametrize("command", [["runs"], ["show", "last"], ["logs", "last"], ["run", "--plain"]])
def test_garbage_database_file(project: Path, command: list[str]) -> None:
    _store(project).parent.mkdir()
    garbage = os.urandom(1024) + b"not SQLite" * 1000
    _store(project).write_bytes(garbage)
    result = reefline(project, *command)
    assert_clean_error(result, f"{_store(project)}: file is not a database")
    assert _store(project).read_bytes() == garbage, "the corrupt file was changed"
    assert not (project / "out.txt").exists()


@pytest.fixture
def real_database(project: Path) -> bytes:
    """A database written by a real run, checkpointed into the main file (no -wal beside it)."""
    result = reefline(project, "run", "--plain")
    assert result.returncode == 0, result.stdout + result.stderr
    import sqlite3

    with sqlite3.connect(_store(project)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return _store(project).read_bytes()


@pytest.mark.parametrize("fraction", [0.02, 0.5, 0.9])
@pytest.mark.parametrize("command", [["runs"], ["show", "last"], ["run", "--plain"]])
def test_truncated_database(project: Path, real_database: bytes, fraction: float, command: list[str]) -> None:
    cut = real_database[: int(len(real_database) * fraction)]
    _store(project).write_bytes(cut)
    result = reefline(project, *command)
    assert_clean_error(result, f"{_store(project)}: database disk image is malformed")
    assert _store(project).read_bytes() == cut


def _read_only(path: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``reefline ARGS`` in the project with ``path`` bind-mounted read-only (in a private mount
    namespace, so it works as root too, where permission bits are ignored)."""
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1) for a read-only bind mount")
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", f"mount --bind -o ro '{path}' '{path}'"],
        capture_output=True,
        text=True,
        check=False,
        timeout=TIMEOUT,
    )
    if probe.returncode != 0:
        pytest.skip(f"no user/mount namespaces here: {probe.stderr.strip()}")
    script = f"mount --bind -o ro '{path}' '{path}' && exec \"$@\""
    env = {k: v for k, v in os.environ.items() if k not in ("REEFLINE_DATABASE_URL", "CI")}
    return subprocess.run(
        ["unshare", "-rm", "sh", "-c", script, "sh", REEFLINE, *args],
        cwd=cwd or path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


@pytest.mark.parametrize("command", [["runs"], ["show", "last"]])
def test_read_only_project_can_be_read(project: Path, real_database: bytes, command: list[str]) -> None:
    result = _read_only(project, *command)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "success" in result.stdout


def test_read_only_project_cannot_run(project: Path, real_database: bytes) -> None:
    (project / "out.txt").unlink()
    result = _read_only(project, "run", "--plain")
    assert_clean_error(result, str(project))
    assert not (project / "out.txt").exists()


def test_read_only_fresh_project(project: Path) -> None:
    result = _read_only(project, "run", "--plain")
    assert_clean_error(result, str(project / ".reefline"))
    assert sorted(p.name for p in project.iterdir()) == ["reefline.yaml"]


def test_read_only_database_file(project: Path, real_database: bytes) -> None:
    result = _read_only(_store(project), "run", "--plain", "--no-cache", cwd=project)
    assert_clean_error(result, f"{_store(project)}:", "readonly")
    assert _store(project).read_bytes() == real_database


def test_read_only_project_for_init(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    result = _read_only(folder, "init")
    assert_clean_error(result, "Read-only file system")
    assert list(folder.iterdir()) == []


def test_schema_into_a_directory(project: Path) -> None:
    (project / "somewhere").mkdir()
    result = reefline(project, "schema", "-o", "somewhere")
    assert_clean_error(result, "somewhere is a directory")
    assert list((project / "somewhere").iterdir()) == []


def test_reading_a_mistyped_project_writes_nothing(tmp_path: Path) -> None:
    for command in (["runs"], ["show", "last"], ["logs", "last"]):
        result = reefline(tmp_path, "-C", "typo", *command)
        assert_clean_error(result)
        assert not (tmp_path / "typo").exists(), command
