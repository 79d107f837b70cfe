"""How exceptions reach the user: bugs exit 3 with a saved traceback, environment errors exit 2."""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reefline.cli.main import app, command_name
from reefline.services import queries

REEFLINE = str(Path(sys.executable).with_name("reefline"))


def _boom(*_args: object, **_kwargs: object) -> object:
    return {}["no such key"]  # a real bug: KeyError from deep inside a service


@pytest.fixture
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(folder))
    return folder


def _crash_file(stderr: str) -> Path:
    match = re.search(r"the traceback is in (\S+);", stderr)
    assert match, stderr
    return Path(match.group(1))


def test_a_bug_exits_3_and_saves_the_traceback(
    runner: CliRunner, project: Path, state_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "list_runs", _boom)
    result = runner.invoke(app, ["runs"])
    assert result.exit_code == 3, result.output
    assert result.stderr.startswith("internal error: KeyError: 'no such key'\n")
    assert "Traceback" not in result.stderr
    report = _crash_file(result.stderr)
    assert report.parent == state_home / "reefline"
    text = report.read_text()
    assert "Traceback (most recent call last)" in text
    assert "_boom" in text


def test_debug_prints_the_traceback_instead(
    runner: CliRunner, project: Path, state_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "list_runs", _boom)
    result = runner.invoke(app, ["--debug", "runs"])
    assert result.exit_code == 3
    assert result.stderr.startswith("internal error: KeyError")
    assert "Traceback (most recent call last)" in result.stderr
    assert "_boom" in result.stderr
    assert not state_home.exists()


def test_the_traceback_goes_to_the_temp_dir_when_the_state_dir_is_unusable(
    runner: CliRunner, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker))  # mkdir under a file fails, even for root
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    monkeypatch.setattr(queries, "list_runs", _boom)
    result = runner.invoke(app, ["runs"])
    assert result.exit_code == 3
    assert _crash_file(result.stderr).parent == tmp_path / "tmp"


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            PermissionError(errno.EACCES, "Permission denied", "/p/.reefline"),
            "Permission denied: /p/.reefline",
        ),
        (OSError(errno.EROFS, "Read-only file system", "/p/out"), "Read-only file system: /p/out"),
        (OSError(errno.ENOSPC, "No space left on device"), "No space left on device"),
    ],
)
def test_environment_os_errors_exit_2(
    runner: CliRunner, project: Path, monkeypatch: pytest.MonkeyPatch, error: OSError, message: str
) -> None:
    def fail(*_args: object, **_kwargs: object) -> object:
        raise error

    monkeypatch.setattr(queries, "list_runs", fail)
    result = runner.invoke(app, ["runs"])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {message}\n"


def test_a_bug_in_the_installed_script_exits_3(tmp_path: Path) -> None:
    """A real bug path in a subprocess: a sitecustomize breaks a service function."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import reefline.services.queries as q\n"
        "def broken(*a, **k):\n    raise TypeError('unsupported operand')\n"
        "q.list_runs = broken\n"
    )
    env = {**os.environ, "PYTHONPATH": str(hook), "XDG_STATE_HOME": str(tmp_path / "state")}
    env.pop("REEFLINE_DATABASE_URL", None)
    result = subprocess.run(
        [REEFLINE, "runs"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 3, result.stderr
    assert result.stderr.startswith("internal error: TypeError: unsupported operand\n")
    assert "Traceback" not in result.stderr
    assert "broken" in _crash_file(result.stderr).read_text()


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (["runs"], "runs"),
        (["-C", "x", "show", "last"], "show"),
        (["--project", "x", "--debug", "logs"], "logs"),
        (["-Cx", "--project=y", "run"], "run"),
        (["--help"], None),
        ([], None),
    ],
)
def test_command_name_skips_global_options(args: list[str], name: str | None) -> None:
    assert command_name(args) == name


def test_a_command_module_that_does_not_import_exits_3(tmp_path: Path) -> None:
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text("import sys\nsys.modules['reefline.cli.history'] = None\n")
    env = {**os.environ, "PYTHONPATH": str(hook), "XDG_STATE_HOME": str(tmp_path / "state")}
    result = subprocess.run(
        [REEFLINE, "runs"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 3, result.stderr
    assert result.stderr.startswith("internal error: ModuleNotFoundError: import of reefline.cli.history")
    assert "Traceback" not in result.stderr
    assert _crash_file(result.stderr).is_file()


def test_an_error_naming_what_was_typed_shows_its_control_bytes(runner: CliRunner, project: Path) -> None:
    result = runner.invoke(app, ["-C", str(project / "a\x01b\x1b[31mc"), "runs"])
    assert result.exit_code == 2, result.output
    assert "a\\x01b\\x1b[31mc" in result.stderr.splitlines()[0], result.stderr
    assert "\x1b" not in result.stderr and "\x00" not in result.stderr


def test_a_server_whose_artifact_store_cannot_be_used_says_so_and_exits_2(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "artifacts-file"
    not_a_folder.write_text("x")
    cases = (("bogus://bucket", "not a usable fsspec URL"), (str(not_a_folder), "is not a directory"))
    for url, why in cases:
        env = {**os.environ, "REEFLINE_HOME": str(tmp_path / "home"), "REEFLINE_ARTIFACTS_URL": url}
        env.pop("REEFLINE_DATABASE_URL", None)
        command = [REEFLINE, "server", "--port", "9"]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("error: artifact store (REEFLINE_ARTIFACTS_URL): "), done.stderr
        assert why in done.stderr and "Traceback" not in done.stderr


def test_a_command_in_a_removed_folder_says_so_and_exits_2(tmp_path: Path) -> None:
    script = f'mkdir gone && cd gone && rmdir ../gone && exec "{REEFLINE}" runs'
    done = subprocess.run(["sh", "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr == "error: the current folder was removed; cd to an existing one\n"
