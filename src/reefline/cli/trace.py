"""``reefline trace``: which jobs made an artifact, from what, back across runs and pipelines."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from reefline.cli import common

EPILOG = r"""
[bold]Examples[/]

$ reefline trace out/report.md  [dim]# the file as it is now[/]

$ reefline trace 9ac1f3  [dim]# a sha256 prefix, at least 6 hex characters[/]

$ reefline trace '17:evaluate\[model=tree].metrics'  [dim]# RUN:job.output; `last` for the newest run[/]

$ reefline trace data/raw.csv --forward  [dim]# everything derived from it[/]

$ reefline trace prediction-8812  [dim]# an output id logged with reefline.log_output[/]

$ reefline trace out/report.md --json --depth 2 --max-age 30
"""


def trace_command(
    target: Annotated[
        str,
        typer.Argument(
            help="A workspace path, a sha256 prefix, RUN:job.output, or a logged output id.", metavar="TARGET"
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the frames as JSON.")] = False,
    depth: Annotated[
        int | None,
        typer.Option(
            "--depth", min=0, help="Follow at most N links from frame #0 (0: only #0).", show_default=False
        ),
    ] = None,
    forward: Annotated[
        bool, typer.Option("--forward", help="List what was derived from TARGET instead of what made it.")
    ] = False,
    max_age: Annotated[
        float | None,
        typer.Option("--max-age", min=0, help="Mark inputs made more than DAYS ago stale.", metavar="DAYS"),
    ] = None,
) -> None:
    """Explain an artifact like a debugger's backtrace.

    Frame #0 is the job that produced TARGET; each `in` line links (← #N) to the frame of the job
    that produced that input, in this run, an earlier run, or another pipeline, found by content
    hash. A frame shows the job's run, time, git commit (+dirty), params and author, and `(cached
    from run N)` when it reused an earlier result. A `component run` frame is a call of a Python
    function decorated with @reefline.component (or a reefline.log_output), `(in job J of run N)`
    when it ran inside a Reefline job; FAILED when it raised. STALE marks a job whose definition changed in a
    later run of its pipeline, or (with --max-age) an input older than DAYS.

    --json prints {target, sha256, direction, truncated, frames: [{number, job, run_id, pipeline, at,
    commit, branch, dirty, author, params, cached_from_run, stale, inputs, outputs, derived_from, kind,
    component_run_id, in_job, status, exception}]}; a component frame has kind "component".
    """
    from reefline.lineage import trace
    from reefline.lineage.frames import render, to_json
    from reefline.services.project import open_existing_db

    workspace = common.project_dir()
    engine = open_existing_db(workspace)
    try:
        with engine.connect() as conn:
            found = trace.resolve(conn, workspace, _relative(target, workspace))
            result = (
                trace.forward(conn, found, depth=depth)
                if forward
                else trace.backtrace(conn, found, depth=depth, max_age_days=max_age)
            )
    finally:
        engine.dispose()
    try:
        if as_json:
            sys.stdout.write(json.dumps(to_json(result), indent=2) + "\n")
        else:
            # a component's paths are whatever its arguments held: no escape sequence reaches the terminal
            sys.stdout.write("\n".join(common.visible(line) for line in render(result).split("\n")))
        sys.stdout.flush()
    except BrokenPipeError:  # `reefline trace … | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(0) from None


def _relative(target: str, workspace: Path) -> str:
    """A path given from the current directory, made relative to the project (other targets as given)."""
    here = Path(target)
    if not here.exists():
        return target
    try:
        return str(here.resolve().relative_to(workspace))
    except ValueError:
        raise common.CliError(f"{target} is outside the project {workspace}") from None
