"""Start-up stays cheap: what each command imports (timings live in bench/startup.py, not here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SPEC = """\
version: 1
name: startup
jobs:
  hello:
    script: echo hello
"""
# Runs the console-script entry point, then lists the modules that were imported.
PROBE = """\
import json, sys
out, sys.argv = sys.argv[1], ["reefline", *sys.argv[2:]]
from reefline.cli.main import main
try:
    main()
except SystemExit:
    pass
with open(out, "w") as f:
    json.dump(sorted(sys.modules), f)
"""


def imported(project: Path, *args: str, extra_env: dict[str, str] | None = None) -> set[str]:
    out = project / "modules.json"
    env = {k: v for k, v in os.environ.items() if k not in ("REEFLINE_DATABASE_URL", "CI")}
    env.update(extra_env or {})
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(out), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.exists(), result.stderr
    return set(json.loads(out.read_text()))


def packages(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules} | {".".join(m.split(".")[:3]) for m in modules}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "reefline.yaml").write_text(SPEC)
    return tmp_path


def test_version_answers_before_typer_and_rich(project: Path) -> None:
    found = packages(imported(project, "--version"))
    assert not found & {"typer", "rich", "pydantic", "sqlalchemy", "yaml"}


def test_validate_opens_no_database(project: Path) -> None:
    found = packages(imported(project, "validate"))
    assert not found & {"sqlalchemy", "alembic"}
    assert "reefline.cli.run" not in found and "reefline.cli.history" not in found


def test_validate_skips_pydantic_plugin_discovery_and_the_store_rows(project: Path) -> None:
    """Discovering plugins imports importlib.metadata and scans every installed distribution."""
    found = imported(project, "validate", extra_env={"REEFLINE_PLAN_CACHE": "off"})
    assert "pydantic" in found
    assert "importlib.metadata" not in found and "reefline.store.rows" not in found


def test_validate_of_an_unchanged_file_loads_no_spec_language(project: Path) -> None:
    imported(project, "validate")
    assert not packages(imported(project, "validate")) & {"pydantic_core", "yaml", "reefline.spec.models"}


def test_a_cold_run_creates_its_database_without_alembic(project: Path) -> None:
    found = packages(imported(project, "run", "--plain"))
    assert (project / ".reefline" / "reefline.db").is_file()
    assert not found & {"alembic", "mako"}
    assert "reefline.cli.history" not in found and "reefline.cli.init" not in found


def test_a_second_run_of_an_unchanged_spec_loads_no_spec_language(project: Path) -> None:
    """The compiled plan is reused (services/plan_cache.py): no YAML, no pydantic models, no linter."""
    imported(project, "run", "--plain")
    found = packages(imported(project, "run", "--plain"))
    assert not found & {"pydantic_core", "yaml", "reefline.spec.models", "reefline.spec.linter"}
    (project / "reefline.yaml").write_text(SPEC.replace("echo hello", "echo changed"))
    assert "reefline.spec.models" in packages(imported(project, "run", "--plain"))


def test_commands_close_the_database_on_exit(project: Path) -> None:
    """SQLite's -wal and -shm files go when the last connection closes; the CLI closes it at exit."""
    env = {k: v for k, v in os.environ.items() if k not in ("REEFLINE_DATABASE_URL", "CI")}
    reefline = Path(sys.executable).with_name("reefline")
    for args in (["run", "--plain"], ["runs"], ["show", "last"], ["logs", "last"], ["run", "--plain"]):
        result = subprocess.run(
            [reefline, *args], cwd=project, env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stderr
        assert sorted(p.name for p in (project / ".reefline").glob("reefline.db*")) == ["reefline.db"], args


@pytest.mark.parametrize("command", [["runs"], ["show", "last"], ["logs", "last"]])
def test_readers_load_neither_the_spec_language_nor_alembic(project: Path, command: list[str]) -> None:
    imported(project, "run", "--plain")
    found = packages(imported(project, *command))
    assert not found & {"reefline.spec", "yaml", "alembic", "mako"}
    assert "reefline.cli.run" not in found and "reefline.cli.validate" not in found
