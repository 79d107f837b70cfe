"""``reefline logs``: one job's log, or every job's interleaved, optionally followed live."""

from __future__ import annotations

import os
import sys
import zlib
from typing import Annotated

import typer

from reefline.cli import common

EPILOG = r"""
[bold]Examples[/]

$ reefline logs last  [dim]# every job, prefixed with its name[/]

$ reefline logs 12 'train\[model=tree]'  [dim]# one job; quote matrix names[/]

$ reefline logs last -f  [dim]# follow a run from another terminal[/]
"""

# Foreground colours for job prefixes (no red: it reads as an error).
_PALETTE = (36, 32, 33, 35, 34, 96, 92, 93, 95, 94)
_RESET = "\x1b[0m"


def job_color(name: str) -> str:
    """A stable ANSI colour per job name, the same in every invocation."""
    return f"\x1b[{_PALETTE[zlib.crc32(name.encode()) % len(_PALETTE)]}m"


def logs_command(
    run: Annotated[str, typer.Argument(help="A run id, or `last`.", metavar="RUN")],
    job: Annotated[
        str | None,
        typer.Argument(help="A job name, e.g. `train[model=tree]`. Default: every job.", show_default=False),
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines until the run finishes.")
    ] = False,
) -> None:
    """Print the log of a run's jobs.

    With a JOB, prints that job's log (every attempt) as it was written. Without one, prints the
    lines of every job in the order they were written, each prefixed with `name | ` (coloured per
    job on a terminal). With -f, waits for new lines until the run is finished, so it can follow a
    run started in another terminal.
    """
    from reefline.services.queries import iter_logs

    color = common.color_enabled(sys.stdout)
    out = sys.stdout
    width = 0
    try:
        for name, row in iter_logs(common.project_dir(), run, job, follow):
            text = row.text.rstrip("\n")
            if job is None:
                width = max(width, len(name))
                prefix = f"{name:<{width}} | "
                if color:
                    prefix = f"{job_color(name)}{prefix}{_RESET}"
                text = prefix + text
            elif color and row.stream == "system":
                text = f"\x1b[2m{text}{_RESET}"
            out.write(text + "\n")
            if follow:
                out.flush()
        out.flush()
    except BrokenPipeError:  # `reefline logs last | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(0) from None
