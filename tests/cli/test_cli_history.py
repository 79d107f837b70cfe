"""`reefline show` and `reefline logs` on matrix runs: full names, every expansion's log, the history."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from reefline.cli.main import app

LONG = "a-model-name-long-enough-to-be-cut-in-an-80-column-table-" * 2
SPEC = f"""\
version: 1
name: wide
jobs:
  train:
    matrix: {{model: [{LONG}one, {LONG}two]}}
    script: ["echo trained ${{{{ matrix.model }}}}"]
"""


def _run(runner: CliRunner, project: Path) -> None:
    (project / "reefline.yaml").write_text(SPEC)
    result = runner.invoke(app, ["run", "--plain"])
    assert result.exit_code == 0, result.output


def test_show_never_cuts_job_names_when_not_a_terminal(runner: CliRunner, project: Path) -> None:
    _run(runner, project)
    result = runner.invoke(app, ["show", "last"])
    assert result.exit_code == 0, result.output
    assert f"train[model={LONG}one]" in result.output
    assert f"train[model={LONG}two]" in result.output
    assert "…" not in result.output


def test_logs_of_a_matrix_job_shows_every_expansion_prefixed(runner: CliRunner, project: Path) -> None:
    _run(runner, project)
    result = runner.invoke(app, ["logs", "last", "train"])
    assert result.exit_code == 0, result.output
    lines = sorted(line.split(" | ") for line in result.output.splitlines())
    assert [(name.strip(), text) for name, text in lines] == [
        (f"train[model={LONG}one]", f"trained {LONG}one"),
        (f"train[model={LONG}two]", f"trained {LONG}two"),
    ]
    one = runner.invoke(app, ["logs", "last", f"train[model={LONG}one]"])
    assert one.output == f"trained {LONG}one\n"  # one job: no prefix
    missing = runner.invoke(app, ["logs", "last", "tran"])
    assert missing.exit_code == 2 and "did you mean" in missing.output


def test_show_json_has_the_state_history(runner: CliRunner, project: Path) -> None:
    _run(runner, project)
    payload = json.loads(runner.invoke(app, ["show", "last", "--json"]).output)
    run_changes = [(c["from"], c["to"]) for c in payload["history"] if c["job"] is None]
    assert run_changes == [(None, "pending"), ("pending", "running"), ("running", "success")]
    name = f"train[model={LONG}one]"
    job_changes = [c["to"] for c in payload["history"] if c["job"] == name]
    assert job_changes == ["queued", "running", "success"]
    assert payload["last_started_at"] == payload["started_at"]


def test_show_prints_control_characters_visibly(runner: CliRunner, project: Path) -> None:
    (project / "reefline.yaml").write_text(
        'version: 1\nname: odd\njobs:\n  a:\n    matrix: {v: ["x\\u001b[2Jy"]}\n    script: ["true"]\n'
    )
    assert runner.invoke(app, ["run", "--plain"]).exit_code == 0
    result = runner.invoke(app, ["show", "last"])
    assert "a[v=x\\x1b[2Jy]" in result.output and "\x1b" not in result.output
    payload = json.loads(runner.invoke(app, ["show", "last", "--json"]).output)
    assert payload["jobs"][0]["name"] == "a[v=x\x1b[2Jy]"  # JSON keeps the exact name
