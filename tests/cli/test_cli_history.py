"""`reefline show` and `reefline logs` on matrix runs: full names, every expansion's log, the history."""

from __future__ import annotations

import json
import subprocess
import sys
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


def test_show_lines_up_its_columns_whatever_the_name_lengths(runner: CliRunner, project: Path) -> None:
    _run(runner, project)
    lines = runner.invoke(app, ["show", "last"]).output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("job "))
    table = lines[header : header + 3]
    columns = [line.index("success") for line in table[1:]]
    assert columns == [table[0].index("state")] * 2


def test_show_into_a_pipe_that_closes_early_exits_0(project: Path) -> None:
    """`reefline show last | head -c1`: the reader had enough; that is not a failed run (exit 1).

    The output (1,000 jobs) is larger than a pipe's buffer, so the writer does meet a closed pipe.
    """
    reefline = str(Path(sys.executable).with_name("reefline"))
    values = ", ".join(str(i) for i in range(1000))
    (project / "reefline.yaml").write_text(
        f"version: 1\nname: many\njobs:\n  t:\n    matrix: {{a: [{values}]}}\n    script: ['echo {LONG}']\n"
    )
    subprocess.run([reefline, "run", "--plain"], cwd=project, check=True, capture_output=True, timeout=120)
    for command in ("show last", "logs last"):
        proc = subprocess.run(
            ["bash", "-c", f'"$0" {command} | head -c1 > /dev/null; echo "${{PIPESTATUS[0]}}"', reefline],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.stdout.strip() == "0", (command, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr
