"""Help texts, usage errors and the shared formatting helpers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from reefline.cli import common
from reefline.cli.main import app, reflow
from reefline.services import timefmt

README = Path(__file__).resolve().parents[2] / "README.md"
# The commands the README documents: its table of commands (`| `reefline NAME ...` | ... |`) in "## Commands".
_COMMANDS_SECTION = README.read_text(encoding="utf-8").split("\n## Commands\n", 1)[1].split("\n### ", 1)[0]
COMMANDS = re.findall(r"^\| `reefline ([a-z]+)\b", _COMMANDS_SECTION, re.MULTILINE)
WIDE = {"COLUMNS": "200", "TERMINAL_WIDTH": "200"}


def test_the_readme_documents_the_commands() -> None:
    laptop = ["init", "validate", "schema", "run", "runs", "show", "logs", "retry", "cancel"]
    laptop += ["compare", "metrics", "checkout", "reproduce", "gc"]
    laptop += ["trace", "components"]
    server = ["server", "admin", "login", "logout", "push", "revisions", "diff", "rollback"]
    editor = ["lsp"]
    assert laptop + server + editor == COMMANDS


def test_every_documented_command_is_registered() -> None:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    assert sorted(group.commands) == sorted(COMMANDS)


def test_root_help_lists_every_command(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--help"], env=WIDE)
    assert result.exit_code == 0
    for name in COMMANDS:
        assert re.search(rf"^\W*{name}\s+[A-Z]", result.stdout, re.MULTILINE), f"{name} not listed"


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_with_examples(runner: CliRunner, name: str) -> None:
    result = runner.invoke(app, [name, "--help"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert f"Usage: reefline {name} " in result.stdout
    assert "Examples" in result.stdout
    assert f"$ reefline {name}" in result.stdout


@pytest.mark.parametrize("name", [None, *COMMANDS])
def test_flags_are_shown_without_a_value(runner: CliRunner, name: str | None) -> None:
    result = runner.invoke(app, [name, "--help"] if name else ["--help"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.stdout
    assert re.search(r"--help\s+-h\s+Show this message and exit", result.stdout), result.stdout


def test_root_help_gives_every_exit_code(runner: CliRunner) -> None:
    text = " ".join(runner.invoke(app, ["--help"], env=WIDE).stdout.split())
    for code in ("0 ok", "1 run failed", "2 invalid spec", "3 internal error", "130 interrupted"):
        assert code in text


def test_readme_gives_every_exit_code() -> None:
    table = README.read_text(encoding="utf-8").split("### Exit codes", 1)[1].split("###", 1)[0]
    assert re.findall(r"^\| (\d+) \|", table, re.MULTILINE) == ["0", "1", "2", "3", "130"]


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("reefline ")


@pytest.mark.parametrize(
    "args",
    [
        ["frobnicate"],
        ["run", "--jobs", "0"],
        ["run", "--bogus"],
        ["show"],
        ["runs", "--limit", "zero"],
    ],
)
def test_usage_errors_exit_2(runner: CliRunner, args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output


def test_bad_param_is_a_usage_error(runner: CliRunner, project: object) -> None:
    (common.project_dir() / "reefline.yaml").write_text("version: 1\n")
    result = runner.invoke(app, ["run", "-p", "novalue"])
    assert result.exit_code == 2
    assert "error: invalid param 'novalue'" in result.stderr


def test_run_without_spec_says_how_to_start(runner: CliRunner, project: object) -> None:
    result = runner.invoke(app, ["run"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: reefline.yaml not found")
    assert "reefline init" in result.stderr


def test_reflow_joins_paragraph_lines_but_keeps_examples() -> None:
    text = "one\ntwo\n\n  $ keep\n  as is\n\nthree\nfour"
    assert reflow(text) == "one two\n\n  $ keep\n  as is\n\nthree four"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "-"), (0.42, "0.4s"), (12.34, "12.3s"), (63, "1m03s"), (3600 + 5 * 60, "1h05m")],
)
def test_format_duration(seconds: float | None, text: str) -> None:
    assert common.format_duration(seconds) == text


@pytest.mark.parametrize(
    ("delta", "text"),
    [(1, "just now"), (42, "42s ago"), (150, "2m ago"), (3 * 3600, "3h ago"), (86400 * 2, "2d ago")],
)
def test_format_ago(delta: float, text: str) -> None:
    assert common.format_ago(1_000_000.0, now=1_000_000.0 + delta) == text


def test_iso_and_duration_seconds() -> None:
    assert timefmt.iso(None) is None
    assert timefmt.iso(0.0) == "1970-01-01T00:00:00+00:00"
    assert timefmt.duration_seconds(10.0, 12.5) == 2.5
    assert timefmt.duration_seconds(None, 12.5) is None
    assert timefmt.duration_seconds(10.0, None, now=11.0) == 1.0
