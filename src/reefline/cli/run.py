"""``reefline run``, ``reefline retry`` and ``reefline cancel``: start, resume and stop runs."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer

from reefline.cli import common, remote
from reefline.cli.progress import Progress, make_progress

if TYPE_CHECKING:
    from reefline.services.types import PlannedStep, RunOptions, RunOutcome

EXIT_RUN_FAILED = 1

RUN_EPILOG = """\
[bold]Examples[/]

$ reefline run

$ reefline run -p lr=0.01 -p epochs=20  [dim]# override params[/]

$ reefline run --only train -j 2  [dim]# only train, 2 jobs at a time[/]

$ reefline run --from train --no-cache  [dim]# train and all after it[/]

$ reefline run --dry-run  [dim]# what would run, what is cached[/]

$ reefline run --server http://127.0.0.1:8420 iris -p seed=7  [dim]# on a server (see `reefline push`)[/]

Exit codes: 0 the run succeeded, 1 it failed or was canceled elsewhere, 2 invalid spec, usage or
environment error, 3 internal error (a bug), 130 interrupted with Ctrl-C, 143 by SIGTERM (the run
is recorded as canceled; twice forces an exit).
"""

RETRY_EPILOG = """\
[bold]Examples[/]

$ reefline retry last

$ reefline retry 12 -j 1

Exit codes as for [bold]reefline run[/].
"""

CANCEL_EPILOG = """\
[bold]Examples[/]

$ reefline cancel last

$ reefline cancel 12
"""

FileArg = Annotated[
    Path | None,
    typer.Argument(help="The spec to run. Default: reefline.yaml in the project.", show_default=False),
]
JobsOpt = Annotated[
    int | None,
    typer.Option(
        "--jobs", "-j", min=1, help="Run at most N jobs at once. Default: the CPU count.", show_default=False
    ),
]
PlainOpt = Annotated[
    bool,
    typer.Option(
        "--plain", help="One line per event instead of the live display (the default when not a TTY)."
    ),
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Also print every job's log lines.")]
RunRef = Annotated[str, typer.Argument(help="A run id, or `last`.", metavar="RUN")]


def parse_params(values: list[str]) -> dict[str, str]:
    """``-p name=value`` pairs; the spec's param types are applied by the service."""
    params: dict[str, str] = {}
    for value in values:
        name, sep, raw = value.partition("=")
        if not sep or not name.strip():
            raise common.CliError(f"invalid param {value!r}: expected name=value, e.g. -p lr=0.1")
        params[name.strip()] = raw
    return params


CANCEL_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextmanager
def ctrl_c_cancels(cancel: threading.Event, progress: Progress) -> Iterator[list[int]]:
    """The first Ctrl-C (or SIGTERM from a CI timeout, or SIGHUP from a closed terminal) sets
    ``cancel``, and the engine stops every job cleanly; the second one raises KeyboardInterrupt.
    Yields a list that holds the number of the signal once one arrived."""
    received: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        if received:
            raise KeyboardInterrupt
        received.append(signum)
        cancel.set()
        progress.canceling()

    if threading.current_thread() is not threading.main_thread():  # signals only work there
        yield received
        return
    previous = {sig: signal.signal(sig, handler) for sig in CANCEL_SIGNALS}
    try:
        yield received
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _progress(plain: bool, verbose: bool) -> Progress:
    console = common.stdout_console()
    plain = plain or bool(os.environ.get("CI"))
    return make_progress(console, sys.stdout, plain=plain, verbose=verbose)


def _exit_code(outcome: RunOutcome, signals: list[int]) -> int:
    """0 success; 128 + the signal when one canceled the run (130 for Ctrl-C); else 1."""
    if str(outcome.state) == "success":
        return 0
    return 128 + signals[0] if signals else EXIT_RUN_FAILED


def _observe(progress: Progress, call: Any) -> int:
    """Run ``call(observer, cancel)`` with live progress and Ctrl-C handling; return the exit code."""
    cancel = threading.Event()
    try:
        with ctrl_c_cancels(cancel, progress) as signals:
            outcome: RunOutcome = call(progress, cancel)
    finally:
        progress.close()
    return _exit_code(outcome, signals)


def _render_plan(steps: list[PlannedStep]) -> None:
    """``--dry-run``: the steps in plan order with what would happen to each (PlannedStep)."""
    from reefline.cli.plan_table import render_plan

    render_plan(steps)


def run_command(  # noqa: PLR0917 - typer maps parameters to options
    file: FileArg = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", metavar="NAME=VALUE", help="Override a param (repeatable)."),
    ] = None,
    jobs: JobsOpt = None,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only", metavar="JOB", help="Run only this job (repeatable); a matrix job means all of it."
        ),
    ] = None,
    from_job: Annotated[
        str | None,
        typer.Option("--from", metavar="JOB", help="Run this job and everything downstream of it."),
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Run every job even if its inputs did not change.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would run (and what is cached); run nothing.")
    ] = False,
    plain: PlainOpt = False,
    verbose: VerboseOpt = False,
    server: remote.ServerOpt = None,
    team: remote.TeamOpt = None,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow/--no-follow",
            help="With --server: print the run's progress until it ends (Ctrl-C stops following; "
            "the run goes on).",
        ),
    ] = True,
) -> None:
    """Run a pipeline locally, with live progress.

    Validates the spec (exit 2 with every problem if it is invalid), plans it, and runs its jobs in
    parallel in dependency order. Jobs whose definition and inputs did not change are cached: their
    outputs are restored and nothing runs. Every run is recorded in .reefline/ in the project (the
    spec's directory): see `reefline runs`, `reefline show`, `reefline logs`. Ctrl-C cancels the run
    cleanly, stopping every job's processes.

    With --server (or REEFLINE_SERVER), FILE is the name of a pipeline pushed there (default: the name
    in the project's spec): the server runs its current revision; exit 0/1 by the run's outcome.
    """
    from reefline.services.types import RunOptions

    if remote.server_option(server):
        pipeline = None if file is None else remote.read_pipeline_name(file) if file.is_file() else str(file)
        params = parse_params(param or [])
        raise typer.Exit(remote.run(server, team, pipeline, params, follow=follow, no_cache=no_cache))
    path = common.spec_path(file)
    if not path.is_file():
        raise common.CliError(f"{common.display_path(path)} not found (create one with `reefline init`)")
    options = RunOptions(
        params=parse_params(param or []),
        parallelism=jobs,
        only=tuple(only or ()),
        from_job=from_job,
        no_cache=no_cache,
        trigger="cli",
    )
    if dry_run:
        from reefline.services.runs import plan_run

        _render_plan(list(plan_run(path, options)))
        return

    from reefline.services.runs import start_run

    progress = _progress(plain, verbose)
    code = _observe(progress, lambda observer, cancel: start_run(path, options, observer, cancel))
    raise typer.Exit(code)


def retry_command(  # noqa: PLR0917 - typer maps parameters to options
    run: RunRef,
    jobs: JobsOpt = None,
    plain: PlainOpt = False,
    verbose: VerboseOpt = False,
    server: remote.ServerOpt = None,
    team: remote.TeamOpt = None,
) -> None:
    """Run the failed, canceled and skipped jobs of a run again.

    Jobs that succeeded (or were cached) keep their results; the others go back to pending and run
    in the same run, with the same params and spec text as the first time, and the same live
    progress as `reefline run`. With --server, the server retries it and this follows it.
    """
    if remote.server_option(server):
        raise typer.Exit(remote.retry(server, team, run))
    from reefline.services.runs import retry_run
    from reefline.services.types import RunOptions

    options: RunOptions = RunOptions(parallelism=jobs, trigger="retry")
    project = common.project_dir()
    progress = _progress(plain, verbose)
    code = _observe(progress, lambda observer, cancel: retry_run(project, run, options, observer, cancel))
    raise typer.Exit(code)


def cancel_command(run: RunRef, server: remote.ServerOpt = None, team: remote.TeamOpt = None) -> None:
    """Cancel a run that is going on in another terminal.

    Asks the process running it to stop: it terminates every job's process tree and records the
    run as canceled. Exits 2 if the run has already finished. With --server, asks the server.
    """
    if remote.server_option(server):
        remote.cancel(server, team, run)
        return
    from reefline.services.runs import cancel_run

    run_id = cancel_run(common.project_dir(), run)
    common.stdout_console().print(f"cancel requested for run {run_id}")
