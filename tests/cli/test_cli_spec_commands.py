"""``init``, ``validate`` and ``schema``: the commands that only need the spec package."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from reefline.cli.init import starter_spec
from reefline.cli.main import app

INVALID = """\
version: 1
name: broken
jobs:
  train:
    needs: [prepare]
    script: echo hi
"""


def test_init_writes_a_starter_that_validates(runner: CliRunner, project: Path) -> None:
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    assert (project / "reefline.yaml").read_text() == starter_spec()

    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 0, result.output
    assert "✓ reefline.yaml is valid (4 jobs from 3 definitions)" in result.stdout  # a matrix of 2
    assert "error" not in result.stdout


def test_init_into_a_new_directory(runner: CliRunner, project: Path) -> None:
    result = runner.invoke(app, ["init", "exp/one"])
    assert result.exit_code == 0, result.output
    assert (project / "exp" / "one" / "reefline.yaml").is_file()
    assert "cd exp/one" in result.stdout


def test_init_refuses_to_overwrite_without_force(runner: CliRunner, project: Path) -> None:
    spec = project / "reefline.yaml"
    spec.write_text("mine\n")
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 2
    assert result.stderr == "error: reefline.yaml already exists (use --force to overwrite it)\n"
    assert spec.read_text() == "mine\n"

    result = runner.invoke(app, ["init", "--force"])
    assert result.exit_code == 0
    assert spec.read_text() == starter_spec()


def test_validate_reports_positions_and_exits_2(runner: CliRunner, project: Path) -> None:
    (project / "reefline.yaml").write_text(INVALID)
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 2, result.output
    assert re.search(r"^reefline\.yaml:5:\d+: error: .*\[RL201\]$", result.stdout, re.MULTILINE), (
        result.stdout
    )
    assert re.search(r"^1 error$", result.stdout, re.MULTILINE)


def test_validate_json_shape(runner: CliRunner, project: Path) -> None:
    (project / "reefline.yaml").write_text(INVALID)
    result = runner.invoke(app, ["validate", "--json"])
    assert result.exit_code == 2
    payload = json.loads(result.stdout)
    assert payload["file"] == "reefline.yaml"
    assert payload["valid"] is False
    [diag] = [d for d in payload["diagnostics"] if d["code"] == "RL201"]
    assert set(diag) >= {
        "code",
        "severity",
        "message",
        "hint",
        "file",
        "line",
        "col",
        "end_line",
        "end_col",
        "path",
    }
    assert diag["severity"] == "error"
    assert diag["line"] == 5


def test_validate_json_valid(runner: CliRunner, project: Path) -> None:
    (project / "reefline.yaml").write_text(starter_spec())
    result = runner.invoke(app, ["validate", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["valid"] is True


def test_validate_a_file_elsewhere(runner: CliRunner, project: Path) -> None:
    other = project / "sub" / "x.reefline.yaml"
    other.parent.mkdir()
    other.write_text(starter_spec())
    result = runner.invoke(app, ["validate", str(other)])
    assert result.exit_code == 0, result.output
    assert "✓ x.reefline.yaml is valid" in result.stdout


def test_validate_missing_file(runner: CliRunner, project: Path) -> None:
    result = runner.invoke(app, ["validate", "nope.yaml"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: nope.yaml not found")


def test_project_option_picks_the_spec(runner: CliRunner, project: Path) -> None:
    (project / "elsewhere").mkdir()
    (project / "elsewhere" / "reefline.yaml").write_text(starter_spec())
    result = runner.invoke(app, ["--project", "elsewhere", "validate"])
    assert result.exit_code == 0, result.output


def test_schema_to_stdout_and_file(runner: CliRunner, project: Path) -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert "jobs" in schema["properties"]

    result = runner.invoke(app, ["schema", "-o", "out/schema.json"])
    assert result.exit_code == 0
    assert json.loads((project / "out" / "schema.json").read_text()) == schema


def test_a_lone_named_pipeline_file_is_picked_and_several_must_be_named(
    runner: CliRunner, project: Path
) -> None:
    (project / "train.reefline.yaml").write_text(starter_spec())
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 0, result.output
    assert "✓ train.reefline.yaml is valid" in result.stdout
    (project / "eval.reefline.yaml").write_text(starter_spec())
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 2
    assert "several pipelines here (eval.reefline.yaml, train.reefline.yaml)" in result.stderr


def test_init_in_a_git_repository_ignores_the_store_once(runner: CliRunner, project: Path) -> None:
    (project / ".git").mkdir()
    (project / ".gitignore").write_text("*.pyc")
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    assert "added .reefline/" in result.stdout
    assert (project / ".gitignore").read_text() == "*.pyc\n.reefline/\n"
    assert runner.invoke(app, ["init", "--force"]).exit_code == 0
    assert (project / ".gitignore").read_text() == "*.pyc\n.reefline/\n"


def test_init_outside_git_writes_no_gitignore(runner: CliRunner, project: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert not (project / ".gitignore").exists()
