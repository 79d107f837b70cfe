"""``reefline logs``: one job's log, or every job's interleaved, optionally followed live."""

from __future__ import annotations

import os
import sys
import zlib
from typing import Annotated

import typer

from reefline.cli import common, remote

EPILOG = r"""
[bold]Examples[/]

$ reefline logs last  [dim]# every job, prefixed with its name[/]

$ reefline logs 12 'train\[model=tree]'  [dim]# one job; quote matrix names[/]

$ reefline logs last -f  [dim]# follow a run from another terminal[/]

$ reefline logs last train --full  [dim]# also the lines left out past the log cap[/]

$ reefline logs 12 -f --server http://127.0.0.1:8420  [dim]# a run on a server, live[/]
"""

# Foreground colours for job prefixes (no red: it reads as an error).
_PALETTE = (36, 32, 33, 35, 34, 96, 92, 93, 95, 94)
_RESET = "\x1b[0m"


def job_color(name: str) -> str:
    """A stable ANSI colour per job name, the same in every invocation."""
    return f"\x1b[{_PALETTE[zlib.crc32(name.encode()) % len(_PALETTE)]}m"


def _notice(message: str) -> None:
    sys.stdout.flush()
    sys.stderr.write(f"{message}\n")
    sys.stderr.flush()


def logs_command(  # noqa: PLR0917 - typer maps parameters to options
    run: Annotated[str, typer.Argument(help="A run id, or `last`.", metavar="RUN")],
    job: Annotated[
        str | None,
        typer.Argument(
            help="A job name, e.g. `train[model=tree]`, or a matrix job (all expansions). Default: all.",
            show_default=False,
        ),
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines until the run finishes.")
    ] = False,
    full: Annotated[
        bool,
        typer.Option("--full", help="The job's whole log, also the lines left out past the log cap."),
    ] = False,
    server: remote.ServerOpt = None,
    team: remote.TeamOpt = None,
) -> None:
    """Print the log of a run's jobs.

    With a JOB, prints that job's log (every attempt) as it was written. Without one, or with the
    name of a matrix job, prints the lines of every (matching) job in the order they were written,
    each prefixed with `name | ` (coloured per job on a terminal). With -f, waits for new lines until
    the run is finished, so it can follow a run started in another terminal; it stops (saying so on
    stderr) if the run's process is gone.

    With --server (or REEFLINE_SERVER): a run on the server; -f follows its live events and resumes
    where it stopped after a dropped connection.
    """
    if remote.server_option(server):
        if full:
            if follow:
                raise common.CliError(
                    "--full and --follow cannot be combined: --full reads a finished attempt"
                )
            remote.full_logs(server, team, run, job)
            return
        remote.logs(server, team, run, job, follow)
        return
    from reefline.services.queries import iter_logs

    if full:
        _print_full(run, job, follow)
        return
    color = common.color_enabled(sys.stdout)
    out = sys.stdout
    width = 0
    try:
        for name, row in iter_logs(common.project_dir(), run, job, follow, notice=_notice):
            text = row.text.rstrip("\n")
            if job is None or name != job:  # several jobs: say whose line it is
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


def _print_full(run: str, job: str | None, follow: bool) -> None:
    """``--full``: one job's whole log (see :mod:`reefline.services.full_log`)."""
    from reefline.services.full_log import iter_full_log

    if job is None:
        raise common.CliError("--full needs a JOB: the whole log of one job")
    if follow:
        raise common.CliError("--full and --follow cannot be combined: --full reads a finished attempt")
    color = common.color_enabled(sys.stdout)
    out = sys.stdout
    try:
        for stream, _, text in iter_full_log(common.project_dir(), run, job):
            dim = color and stream == "system"
            out.write(f"\x1b[2m{text}{_RESET}\n" if dim else text + "\n")
        out.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(0) from None
