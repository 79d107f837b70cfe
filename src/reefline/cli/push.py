"""``reefline push``: a new revision of a pipeline on the server, with the project's source."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

EPILOG = """\
[bold]Examples[/]

  $ reefline push -m "add tree model"                 # reefline.yaml and the project, your only team
  $ reefline push train.reefline.yaml --team research --board ml -m "first version"
  $ reefline push --no-source -m "only the YAML changed"   # keep the current revision's source

The source is the spec's folder as a tar.gz, leaving out .git, .reefline and what .gitignore and
.reeflineignore name (50 MB at most). Exit 2 with the diagnostics of `reefline validate` when the
spec is invalid.
"""


def push_command(  # noqa: PLR0917 - typer maps parameters to options
    file: Annotated[
        Path | None,
        typer.Argument(help="The spec to push. Default: reefline.yaml in the project.", show_default=False),
    ] = None,
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="What changed (shown in `reefline revisions`).")
    ] = None,
    team: Annotated[
        str | None,
        typer.Option("--team", "-t", help="Default: REEFLINE_TEAM, or your only team.", show_default=False),
    ] = None,
    board: Annotated[
        str | None,
        typer.Option(
            "--board",
            "-b",
            help="The board of a new pipeline (created if the team has none of that name; default: the "
            "spec's `board:` key).",
            show_default=False,
        ),
    ] = None,
    no_source: Annotated[
        bool, typer.Option("--no-source", help="Push only the YAML; runs keep the current revision's source.")
    ] = False,
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            metavar="URL",
            help="Default: REEFLINE_SERVER, or the server you signed in to.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Push the pipeline and the project's source to the server as a new revision.

    Prints `revision N of TEAM/NAME`, or `unchanged (revision N)` when the YAML and the source are
    those of the current revision. Runs started on the server (`reefline run --server`) use the
    current revision.
    """
    from reefline.cli import common, remote
    from reefline.services.source_bundle import pack

    path = common.spec_path(file)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise common.CliError(
            f"{common.display_path(path)} not found (create one with `reefline init`)"
        ) from None
    except UnicodeDecodeError as exc:
        raise common.CliError(f"{common.display_path(path)} is not UTF-8 text (byte {exc.start})") from None
    source = None if no_source else pack(path.parent).data
    with remote.session(server) as s:
        chosen = remote.resolve_team(s.client, team)
        if board and board not in {b["name"] for b in s.client.request("GET", f"/teams/{chosen}/boards")}:
            s.client.request("POST", f"/teams/{chosen}/boards", json={"name": board})
            sys.stdout.write(f"created board {board} in team {chosen}\n")
        result = s.client.push(chosen, text, source=source, board=board, message=message, file=path.name)
    remote.print_api_diagnostics(result.get("warnings"))
    number = result["revision"]["number"]
    name = result["pipeline"]["name"]
    if result["created"]:
        sys.stdout.write(f"revision {number} of {chosen}/{name}\n")
    else:
        sys.stdout.write(f"unchanged (revision {number} of {chosen}/{name})\n")
