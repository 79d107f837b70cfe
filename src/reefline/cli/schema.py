"""``reefline schema``: the JSON Schema of the pipeline language, for editors and CI."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from reefline.cli import common

EPILOG = """\
[bold]Examples[/]

$ reefline schema > reefline.schema.json

$ reefline schema -o .vscode/reefline.schema.json

Point your editor at it, e.g. with the YAML language server: add
[dim]# yaml-language-server: $schema=./reefline.schema.json[/] as the first line of reefline.yaml.
"""


def schema_command(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to this file instead of stdout.", show_default=False),
    ] = None,
) -> None:
    """Print the JSON Schema of the reefline.yaml language.

    The schema is generated from the same models the validator uses, with a description on every
    field, so any YAML editor that understands JSON Schema gives completion and hover docs.
    """
    from reefline.spec import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
        return
    shown = common.display_path(output.resolve())
    if output.is_dir():
        example = f"{shown}/reefline.schema.json"
        raise common.CliError(f"{shown} is a directory: give a file name, e.g. -o {example}")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise common.CliError(f"cannot write {shown}: {exc.strerror or exc}") from exc
    common.stderr_console().print(f"wrote {shown}")
