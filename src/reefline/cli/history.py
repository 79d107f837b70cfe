"""``reefline runs`` and ``reefline show``: what ran, and what each job of a run did."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape as markup_escape
from rich.table import Table
from rich.text import Text

from reefline.cli import common, remote
from reefline.cli.text_table import Cell, Column, Line, cell, render_table
from reefline.engine.states import JobState
from reefline.services import timefmt

if TYPE_CHECKING:
    from reefline.services.types import RunDetail
    from reefline.store.rows import MetricRow

# Job states whose reason `reefline show` prints beside them.
_REASON_SHOWN = frozenset({JobState.FAILED, JobState.SKIPPED, JobState.CANCELED, JobState.INTERRUPTED})

RUNS_EPILOG = """\
[bold]Examples[/]

$ reefline runs

$ reefline runs --limit 50

$ reefline runs --json | jq '.[] | select(.state == "failed") | .id'
"""

SHOW_EPILOG = """\
[bold]Examples[/]

$ reefline show last

$ reefline show 12 --json | jq '.jobs[] | {name, state, metrics}'
"""


def escape(text: str) -> str:
    """Text from the store, safe in rich markup and on a terminal (control characters shown)."""
    return markup_escape(common.visible(text))


JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (shape in the description above).")]


def _dump(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


def _metrics_by_job(metrics: list[MetricRow]) -> dict[int, dict[str, float]]:
    by_job: dict[int, dict[str, float]] = {}
    for m in metrics:
        by_job.setdefault(m.job_id, {})[m.key] = m.value
    return by_job


def runs_command(
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="Show at most N runs, newest first.")
    ] = 20,
    as_json: JsonOpt = False,
    server: remote.ServerOpt = None,
    team: remote.TeamOpt = None,
) -> None:
    """List the latest runs of the project, newest first.

    With --json: a list of {"id": int, "pipeline": str, "state": str, "reason": str|null,
    "trigger": str, "params": {...}, "spec_path": str, "created_at", "started_at", "last_started_at",
    "finished_at": ISO 8601 strings or null, "duration": seconds or null}.

    With --server (or REEFLINE_SERVER): the team's runs on the server; --json prints the API's JSON.
    """
    if remote.server_option(server):
        remote.runs(server, team, limit, as_json)
        return
    from reefline.services.queries import list_runs, status_of

    rows = list_runs(common.project_dir(), limit)
    if as_json:
        from reefline.services.shapes import RunShape

        _dump([RunShape.of(r).model_dump(mode="json") for r in rows])
        return
    console = common.table_console()
    if not rows:
        console.print("no runs yet (start one with `reefline run`)")
        return
    now = time.time()
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("id", "pipeline", "rev", "status", "started", "duration", "trigger"):
        table.add_column(column, justify="right" if column in ("id", "rev", "duration") else "left")
    for r in rows:
        table.add_row(
            str(r.id),
            escape(r.pipeline_name),
            "-" if r.revision is None else str(r.revision),
            common.state_markup(status_of(r)),
            common.format_ago(r.started_at or r.created_at, now),
            common.format_duration(timefmt.duration_seconds(r.started_at, r.finished_at, now)),
            escape(r.trigger),
        )
    console.print(table)


def _local(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _short(sha: str) -> str:
    return sha[:10]


def show_command(
    run: Annotated[str, typer.Argument(help="A run id, or `last`.", metavar="RUN")],
    as_json: JsonOpt = False,
    server: remote.ServerOpt = None,
    team: remote.TeamOpt = None,
) -> None:
    """Show one run: its state, params and times, and a table of its jobs.

    Each job row has its state, attempts, duration, exit code, where a cached result came from,
    its outputs (path and short sha256) and metrics.

    With --json: the `reefline runs --json` object of the run plus "jobs": a list of {"name",
    "job", "stage", "matrix", "needs", "state", "reason", "attempts", "exit_code",
    "allow_failure", "cached_from_job_id", "cached_from_run_id", "started_at", "finished_at",
    "duration", "outputs": [{"name", "path", "type", "sha256", "size"}], "metrics": {key: number},
    "attempt_history": [{"number", "state", "exit_code", "error", "started_at", "finished_at",
    "duration", "cpu_seconds", "peak_rss_bytes"}]}, plus "last_started_at" (a retry's start; "started_at"
    stays the first) and "history": every state change of the run ("job": null) and of its jobs, oldest
    first: [{"job", "from", "to", "at", "reason", "attempt"}].

    With --server (or REEFLINE_SERVER): a run on the server; --json prints the API's JSON.
    """
    if remote.server_option(server):
        remote.show(server, team, run, as_json)
        return
    from reefline.services.queries import show_run

    detail = show_run(common.project_dir(), run)
    if as_json:
        from reefline.services.shapes import RunDetailShape

        _dump(RunDetailShape.of_detail(detail).model_dump(mode="json"))
        return
    console = common.table_console()
    r = detail.run
    now = time.time()
    head = Text.from_markup(
        f"[bold]run {r.id}[/] · {escape(r.pipeline_name)} · {common.state_markup(str(r.state))}"
    )
    console.print(head)
    if r.reason:
        console.print(f"  reason:   {escape(r.reason)}")
    if r.params:
        params = ", ".join(f"{k}={v}" for k, v in sorted(r.params.items()))
        console.print(f"  params:   {escape(params)}")
    started = r.started_at or r.created_at
    console.print(f"  started:  {_local(started)} ({common.format_ago(started, now)})")
    if r.last_started_at is not None and r.started_at is not None and r.last_started_at > r.started_at:
        console.print(
            f"  retried:  {_local(r.last_started_at)} ({common.format_ago(r.last_started_at, now)})"
        )
    if r.finished_at is not None:
        duration = common.format_duration(timefmt.duration_seconds(r.started_at, r.finished_at))
        console.print(f"  finished: {_local(r.finished_at)} (took {duration})")
    spec = common.display_path(Path(r.spec_path))
    revision = "" if r.revision is None else f" (revision {r.revision})"
    console.print(f"  trigger:  {escape(r.trigger)} · spec: {escape(spec)}{revision}")
    console.print()

    sys.stdout.flush()
    lines = render_table(_SHOW_COLUMNS, _job_rows(detail, now), color=common.color_enabled(sys.stdout))
    sys.stdout.write("\n".join(lines) + "\n")


_SHOW_COLUMNS = (
    Column("job"),
    Column("state"),
    Column("attempts", right=True),
    Column("duration", right=True),
    Column("exit", right=True),
    Column("cached"),
    Column("outputs / metrics"),
)


def _job_rows(detail: RunDetail, now: float) -> list[list[Cell]]:
    """One row per job; names are never cut, so two matrix expansions never look the same."""
    by_job = _metrics_by_job(detail.metrics)
    rows = []
    for j in detail.jobs:
        job = j.job
        cached = "-"
        if job.state == JobState.CACHED:
            source = j.cached_from_run_id
            cached = f"from run {source}" if source is not None else "yes"
        extra: Cell = [[(common.visible(o.path) + " ", ""), (_short(o.sha256), "dim")] for o in j.outputs]
        extra += [[(f"{common.visible(k)} = {v:g}", "")] for k, v in sorted(by_job.get(job.id, {}).items())]
        state: Line = [(str(job.state), common.STATE_STYLES.get(str(job.state), ""))]
        if job.reason and job.state in _REASON_SHOWN:
            state.append((f" ({common.visible(job.reason)})", "dim"))
        duration = common.format_duration(timefmt.duration_seconds(job.started_at, job.finished_at, now))
        rows.append(
            [
                cell(common.visible(job.name)),
                [state],
                cell(str(job.attempts)),
                cell(duration),
                cell("-" if job.exit_code is None else str(job.exit_code)),
                cell(cached),
                extra or cell("-"),
            ]
        )
    return rows
