"""``reefline revisions``, ``reefline diff``, ``reefline rollback``: a pipeline's history on the server."""

from __future__ import annotations

import sys
import time
from typing import Annotated

import typer

REVISIONS_EPILOG = """\
[bold]Examples[/]

  $ reefline revisions iris
  $ reefline revisions iris --team research --json
"""

DIFF_EPILOG = """\
[bold]Examples[/]

  $ reefline diff iris 1 2          # the YAML from revision 1 to 2 (unified diff)
"""

ROLLBACK_EPILOG = """\
[bold]Examples[/]

  $ reefline rollback iris 1 -m "back to the first version"   # recorded as a new revision
"""

PipelineArg = Annotated[str, typer.Argument(help="The pipeline's name.", show_default=False)]
TeamOpt = Annotated[
    str | None,
    typer.Option("--team", "-t", help="Default: REEFLINE_TEAM, or your only team.", show_default=False),
]
ServerOpt = Annotated[
    str | None,
    typer.Option(
        "--server",
        metavar="URL",
        help="Default: REEFLINE_SERVER, or the server you signed in to.",
        show_default=False,
    ),
]


def revisions_command(
    pipeline: PipelineArg,
    team: TeamOpt = None,
    server: ServerOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON.")] = False,
) -> None:
    """List a pipeline's revisions on the server, newest first; `*` marks the current one."""
    from rich.table import Table

    from reefline.cli import common, remote
    from reefline.cli.history import escape

    with remote.session(server) as s:
        chosen = remote.resolve_team(s.client, team)
        current = s.client.request("GET", f"/teams/{chosen}/pipelines/{pipeline}")["current_revision"]
        rows = s.client.revisions(chosen, pipeline)
    if as_json:
        remote.dump_json(rows)
        return
    rows = sorted(rows, key=lambda r: -r["number"])
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("", "revision", "created", "author", "source", "message"):
        table.add_column(column, justify="right" if column == "revision" else "left")
    now = time.time()
    for r in rows:
        message = r["message"] or ""
        if r["rollback_of"] is not None:
            message = f"(rollback to {r['rollback_of']}) {message}".strip()
        table.add_row(
            "*" if r["number"] == current else "",
            str(r["number"]),
            common.format_ago(r["created_at"], now),
            escape(r["author"] or "-"),
            r["source_sha256"][:10] if r["source_sha256"] else "-",
            escape(message),
        )
    common.table_console().print(table)


def diff_command(
    pipeline: PipelineArg,
    a: Annotated[int, typer.Argument(help="The older revision.", show_default=False)],
    b: Annotated[int, typer.Argument(help="The newer revision.", show_default=False)],
    team: TeamOpt = None,
    server: ServerOpt = None,
) -> None:
    """Print the unified diff of the pipeline's YAML from revision A to B (nothing when equal)."""
    from reefline.cli import remote

    with remote.session(server) as s:
        text = s.client.diff(remote.resolve_team(s.client, team), pipeline, a, b)
    sys.stdout.write(text if not text or text.endswith("\n") else text + "\n")


def rollback_command(
    pipeline: PipelineArg,
    revision: Annotated[int, typer.Argument(metavar="REV", help="The revision to make current again.")],
    message: Annotated[str | None, typer.Option("--message", "-m", help="Why (shown in revisions).")] = None,
    team: TeamOpt = None,
    server: ServerOpt = None,
) -> None:
    """Make an old revision of the pipeline current again, recorded as a new revision."""
    from reefline.cli import remote

    with remote.session(server) as s:
        chosen = remote.resolve_team(s.client, team)
        result = s.client.rollback(chosen, pipeline, revision, message)
    number = result["revision"]["number"]
    sys.stdout.write(
        f"revision {number} of {chosen}/{pipeline} (the YAML and source of revision {revision})\n"
    )
