"""``reefline compare``, ``metrics``, ``checkout`` and ``gc``: experiments over recorded runs, and the
artifact store they keep."""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from reefline.cli import common, remote
from reefline.cli.text_table import Cell, Column, cell, render_table

if TYPE_CHECKING:
    from reefline.services.checkout import CheckoutItem
    from reefline.services.experiments import ComparedRow, Comparison, MetricPoint

COMPARE_EPILOG = """\
[bold]Examples[/]

$ reefline compare 3 4  [dim]# rows that differ are marked *[/]

$ reefline compare 3 4 5 last

$ reefline compare 3 4 --json | jq '.metrics[] | select(.differs)'
"""

METRICS_EPILOG = """\
[bold]Examples[/]

$ reefline metrics --metric accuracy

$ reefline metrics iris --metric test.f1 --limit 50

$ reefline metrics --metric accuracy --json | jq '.[].value'
"""

CHECKOUT_EPILOG = r"""
[bold]Examples[/]

$ reefline checkout 12  [dim]# every output of run 12[/]

$ reefline checkout 31 train --server http://ci:8420  [dim]# a server run's outputs, downloaded[/]

$ reefline checkout last train  [dim]# only the outputs of the job train (all its expansions)[/]

$ reefline checkout 12 'train\[model=tree]'  [dim]# one expansion; quote matrix names[/]
"""

GC_EPILOG = """\
[bold]Examples[/]

$ reefline gc --keep-last 5 --dry-run  [dim]# what would go, nothing deleted[/]

$ reefline gc --keep-last 5
"""

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (shape in the description above).")]
_MISSING = "-"


def _dump(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


def _value_text(value: Any) -> str:
    if value is None:
        return _MISSING
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, str):
        return common.visible(value)
    return common.visible(json.dumps(value, sort_keys=True))


def _write_lines(lines: list[str]) -> None:
    sys.stdout.write("\n".join(lines) + "\n")


# ---------------------------------------------------------------------------- compare


def compare_command(
    runs: Annotated[list[str], typer.Argument(help="Two or more run ids (or `last`).", metavar="RUN RUN…")],
    as_json: JsonOpt = False,
) -> None:
    """Show the params and metrics of runs side by side: one row per key, one column per run.

    Rows whose values differ are marked `*` (and in colour on a terminal); a run without the key
    shows `-`. A metric reported by several jobs of a run is shown once per job, as `key [job]`.

    With --json: {"runs": [{"id", "pipeline", "state", "created_at"}], "params": [{"key",
    "values": [one per run, null when missing], "differs": bool}], "metrics": [the same]}.
    """
    from reefline.services.experiments import compare_in_project

    comparison = compare_in_project(common.project_dir(), runs)
    if as_json:
        _dump(_comparison_json(comparison))
        return
    color = common.color_enabled(sys.stdout)
    columns = [Column(""), Column("key"), *(Column(f"#{r.id}", right=True) for r in comparison.runs)]
    rows: list[list[Cell]] = []
    for title, section in (("params", comparison.params), ("metrics", comparison.metrics)):
        rows.append([cell(""), cell(title, "dim"), *(cell("") for _ in comparison.runs)])
        if not section:
            rows.append([cell(""), cell(f"  (no {title})", "dim"), *(cell("") for _ in comparison.runs)])
        rows.extend(_compared_row(row) for row in section)
    pipelines = ", ".join(dict.fromkeys(common.visible(r.pipeline) for r in comparison.runs))
    _write_lines([f"runs {', '.join(str(r.id) for r in comparison.runs)} · {pipelines}", ""])
    _write_lines(render_table(columns, rows, color=color))


def _compared_row(row: ComparedRow) -> list[Cell]:
    style = "yellow" if row.differs else ""
    key = [[("  " + common.visible(row.key), "bold" if row.differs else "")]]
    return [cell("*" if row.differs else "", style), key, *(cell(_value_text(v), style) for v in row.values)]


def _comparison_json(comparison: Comparison) -> dict[str, Any]:
    from reefline.services import timefmt

    def rows(section: list[ComparedRow]) -> list[dict[str, Any]]:
        return [{"key": r.key, "values": r.values, "differs": r.differs} for r in section]

    return {
        "runs": [
            {"id": r.id, "pipeline": r.pipeline, "state": r.state, "created_at": timefmt.iso(r.created_at)}
            for r in comparison.runs
        ],
        "params": rows(comparison.params),
        "metrics": rows(comparison.metrics),
    }


# ---------------------------------------------------------------------------- metrics


def metrics_command(
    metric: Annotated[
        str, typer.Option("--metric", "-m", help="The metric's key, e.g. `accuracy` or `test.f1`.")
    ],
    pipeline: Annotated[
        str | None,
        typer.Argument(
            help="Only the runs of this pipeline. Default: all.", metavar="PIPELINE", show_default=False
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="The newest N runs that reported it.")
    ] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Show the history of one metric across runs, oldest first, with a sparkline (▁ low, █ high).

    One line per job that reported it (the expansions of a matrix job each have theirs).

    With --json: a list, oldest first, of {"run": int, "pipeline": str, "created_at": ISO 8601,
    "job": str, "value": number}.
    """
    from reefline.services.experiments import metric_history_in_project

    points = metric_history_in_project(common.project_dir(), metric, pipeline, limit)
    if as_json:
        from reefline.services import timefmt

        _dump(
            [
                {
                    "run": p.run_id,
                    "pipeline": p.pipeline,
                    "created_at": timefmt.iso(p.created_at),
                    "job": p.job,
                    "value": p.value,
                }
                for p in points
            ]
        )
        return
    now = time.time()
    columns = (Column("run", right=True), Column("when"), Column("pipeline"), Column("job"), Column(metric))
    rows = [
        [
            cell(str(p.run_id)),
            cell(common.format_ago(p.created_at, now)),
            cell(common.visible(p.pipeline)),
            cell(common.visible(p.job)),
            cell(f"{p.value:.6g}"),
        ]
        for p in points
    ]
    _write_lines(render_table(columns, rows, color=common.color_enabled(sys.stdout)))
    _write_lines(["", *_sparklines(metric, points)])


def _sparklines(metric: str, points: list[MetricPoint]) -> list[str]:
    from reefline.services.experiments import sparkline

    by_job: dict[str, list[float]] = {}
    for p in points:
        by_job.setdefault(p.job, []).append(p.value)
    lines = []
    for job, values in by_job.items():
        label = common.visible(metric if len(by_job) == 1 else f"{metric} [{job}]")
        lines.append(
            f"{label}  {sparkline(values)}  min {min(values):.6g} · max {max(values):.6g} · "
            f"last {values[-1]:.6g} ({len(values)} runs)"
        )
    return lines


# ---------------------------------------------------------------------------- checkout


def checkout_command(
    run: Annotated[str, typer.Argument(help="A run id, or `last`.", metavar="RUN")],
    jobs: Annotated[
        list[str] | None,
        typer.Argument(help="Only these jobs' outputs (a matrix job: all its expansions). Default: all."),
    ] = None,
    server: remote.ServerOpt = None,
    team: remote.TeamOpt = None,
) -> None:
    """Restore a run's outputs from the artifact store into the workspace, as `dvc checkout` does.

    Each output the run recorded is put back byte for byte where it was, unless the workspace
    already holds that content. Nothing outside the workspace is ever written. Exit 2 if any
    output is missing from the artifact store (e.g. removed by `reefline gc`).

    With --server (or REEFLINE_SERVER): a run on the server; its outputs are downloaded from the
    server's artifact store into this directory, each checked against the sha256 the run recorded.
    """
    if remote.server_option(server):
        from reefline.cli.remote_checkout import checkout_from_server

        report = checkout_from_server(server, team, run, jobs or None, common.project_dir())
    else:
        from reefline.services.checkout import checkout_in_project

        report = checkout_in_project(common.project_dir(), run, jobs or None)
    for label, items in (("restored", report.restored), ("up to date", report.up_to_date)):
        for item in items:
            _write_lines([f"{label + ':':<12}{_item_text(item)}"])
    for item in report.missing:
        _write_lines([f"{'missing:':<12}{_item_text(item)}: {common.visible(item.note or '')}"])
    _write_lines(
        [
            f"run {report.run_id}: {len(report.restored)} restored, {len(report.up_to_date)} up to date, "
            f"{len(report.missing)} missing"
        ]
    )
    if report.missing:
        raise common.CliError(
            f"{len(report.missing)} output(s) of run {report.run_id} could not be restored "
            "(listed above as missing)"
        )


def _item_text(item: CheckoutItem) -> str:
    return f"{common.visible(item.path)} ({common.visible(item.job)}.{common.visible(item.output)})"


# ---------------------------------------------------------------------------- gc


def gc_command(
    keep_last: Annotated[
        int,
        typer.Option(
            "--keep-last",
            min=0,
            help="Keep what the newest N finished runs of each pipeline reference (and unfinished runs).",
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be removed; delete nothing.")
    ] = False,
) -> None:
    """Remove from the artifact store every object no kept run references, and report the bytes freed.

    Kept runs are the newest N finished runs of each pipeline and every unfinished run; what they
    recorded as outputs or inputs stays (a directory keeps its files). Older runs' outputs can then no
    longer be restored by `reefline checkout` or a cache hit.

    Only this project's database is consulted: do not collect a store (REEFLINE_ARTIFACTS_URL) that
    projects with databases of their own share, or their objects go too.
    """
    from reefline.services.gc import gc_in_project
    from reefline.services.source_pack import size_text

    report = gc_in_project(common.project_dir(), keep_last, dry_run=dry_run)
    if dry_run:
        for obj in report.removed:
            _write_lines([f"would remove {obj.kind:<9}  {obj.sha256[:12]}  {size_text(obj.size)}"])
    kept_runs = ", ".join(str(i) for i in report.kept_runs) or "none"
    verb = "would remove" if dry_run else "removed"
    _write_lines(
        [
            f"kept runs: {kept_runs}; {len(report.kept)} object(s) kept",
            f"{verb} {len(report.removed)} object(s), {size_text(report.bytes_freed)}"
            + (" (dry run: nothing deleted)" if dry_run else " freed"),
        ]
    )
