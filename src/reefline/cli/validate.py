"""``reefline validate``: every problem in a spec at once, as ``file:line:col: severity: message [CODE]``."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer
from rich.text import Text

from reefline.cli import common

if TYPE_CHECKING:
    from reefline.spec.diagnostics import Diagnostic

EPILOG = """\
[bold]Examples[/]

$ reefline validate

$ reefline validate pipelines/train.reefline.yaml

$ reefline validate --json | jq '.diagnostics[].message'

Exit code 0 when the spec is valid (warnings allowed), 2 when it has errors.
"""


def _counts(diagnostics: Sequence[Diagnostic]) -> tuple[int, int]:
    errors = sum(1 for d in diagnostics if str(d.severity) == "error")
    return errors, len(diagnostics) - errors


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def summary_line(
    name: str, diagnostics: Sequence[Diagnostic], job_count: int | None, definitions: int | None = None
) -> str:
    """``✓ reefline.yaml is valid (5 jobs)``, ``… valid (7 jobs from 5 definitions), 1 warning`` or
    ``2 errors, 1 warning``. ``job_count`` counts matrix expansions; ``definitions`` the jobs written."""
    errors, warnings = _counts(diagnostics)
    if errors:
        text = _plural(errors, "error")
        return text + (f", {_plural(warnings, 'warning')}" if warnings else "")
    jobs = ""
    if job_count is not None:
        expanded = definitions is not None and definitions != job_count
        origin = f" from {_plural(definitions, 'definition')}" if expanded and definitions is not None else ""
        jobs = f" ({_plural(job_count, 'job')}{origin})"
    text = f"✓ {name} is valid{jobs}"
    return text + (f", {_plural(warnings, 'warning')}" if warnings else "")


def print_diagnostics(diagnostics: Sequence[Diagnostic], stream: TextIO) -> None:
    """Plain ``Diagnostic.format()`` lines (with their hint lines); used for ``run`` errors too.

    Absolute file names (as the services give them) are shown relative to the current directory.
    """
    for d in diagnostics:
        if d.file and os.path.isabs(d.file):
            d = dataclasses.replace(d, file=common.display_path(Path(d.file)))  # noqa: PLW2901
        stream.write(d.format() + "\n")
    stream.flush()


def _render_diagnostic(d: Diagnostic) -> Text:
    text = Text(d.format())
    text.highlight_regex(r"^[^\n]*?:\d+:\d+:", "bold")
    text.highlight_regex(r": error: ", "bold red")
    text.highlight_regex(r": warning: ", "bold yellow")
    text.highlight_regex(r"\[[A-Z]+\d*[^\]]*\]$", "dim")
    text.highlight_regex(r"(?m)^  hint: ", "cyan")
    return text


def validate_command(
    file: Annotated[
        Path | None,
        typer.Argument(help="The spec to check. Default: reefline.yaml in the project.", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON (see below).")] = False,
) -> None:
    """Check a pipeline file and report every problem at once.

    Reads the spec, checks its YAML, its shape against the language and every cross-reference
    (needs, from:, types, stages, expressions), and prints all diagnostics with their positions and
    hints, then a summary line.

    A spec without errors is also compiled with its default params (matrix expanded, paths
    rendered), and the summary says how many jobs it expands to.

    With --json it prints one object:
    {"file": str, "valid": bool, "jobs": int | null, "definitions": int | null, "diagnostics":
    [{"code", "severity", "message", "hint", "file", "line", "col", "end_line", "end_col", "path"}]}
    ("jobs" counts matrix expansions, "definitions" the jobs written in the file).
    """
    from reefline.services.project_policy import project_policy
    from reefline.services.validation import validate_file

    path = common.spec_path(file)
    if not path.is_file():
        raise common.CliError(f"{common.display_path(path)} not found (create one with `reefline init`)")
    # Load by the path as the user sees it, so diagnostics read `reefline.yaml:3:5`, not an absolute path.
    shown = common.display_path(path)
    policy = project_policy(path.resolve().parent)
    report = validate_file(shown, policy)
    diagnostics, jobs, definitions = report.diagnostics, report.jobs, report.definitions
    errors, _ = _counts(diagnostics)
    if as_json:
        payload: dict[str, Any] = {
            "file": shown,
            "valid": errors == 0,
            "jobs": jobs,
            "definitions": definitions,
            "diagnostics": [d.to_json() for d in diagnostics],
        }
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        console = common.stdout_console()
        for d in diagnostics:
            console.print(_render_diagnostic(d))
        line = summary_line(path.name, diagnostics, jobs, definitions)
        style = "bold red" if errors else "green"
        if diagnostics:
            console.print()
        console.print(Text(line, style=style))
    if errors:
        raise typer.Exit(2)
