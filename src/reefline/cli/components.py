"""``reefline components``: the component types of this project (the Python SDK), and registering one."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from reefline.cli.app import ReeflineCommand, reflow
from reefline.cli.common import project_dir, visible

EPILOG = """\
[bold]Examples[/]

  $ reefline components                       # name, kind, owner, runs, last run
  $ reefline components --json
  $ reefline components register featurize --owner alice --description 'raw rows to features'
  $ reefline components register scorer --kind model --owner bob

A decorated function registers its component on its first run (@reefline.component(name=…,
owner=…, description=…)); register one beforehand to give it a kind, an owner and a description.
"""

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON: [{name, kind, owner, description, …}].")]

components_app = typer.Typer(
    help=reflow(
        """List the components of this project: functions decorated with @reefline.component, the
        outputs logged with reefline.log_output, and the component types registered with `reefline
        components register`, with their number of runs and the last run's status and time.

        --json prints [{name, kind, owner, description, created_at, runs, last_status, last_run_at}]."""
    ),
    invoke_without_command=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


@components_app.callback()
def components_command(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    if ctx.invoked_subcommand is not None:
        return
    from reefline.services import components
    from reefline.services.project import NoRunsHere, open_reader_db

    try:
        engine = open_reader_db(project_dir())
    except NoRunsHere:
        rows = []
    else:
        try:
            with engine.connect() as conn:
                rows = components.list_components(conn)
        finally:
            engine.dispose()
    payload = [_shape(row) for row in rows]
    if as_json:
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return
    if not payload:
        sys.stdout.write("no components yet: decorate a function with @reefline.component\n")
        return
    _table(payload)


def _shape(row: Any) -> dict[str, Any]:
    from reefline.services import timefmt

    return {
        "name": row.name,
        "kind": row.kind,
        "owner": row.owner,
        "description": row.description,
        "created_at": timefmt.iso(row.created_at),
        "runs": row.runs,
        "last_status": row.last_status,
        "last_run_at": timefmt.iso(row.last_finished_at),
    }


def _table(payload: list[dict[str, Any]]) -> None:
    from reefline.cli.common import color_enabled
    from reefline.cli.text_table import Column, cell, render_table

    columns = [
        Column("name"),
        Column("kind"),
        Column("owner"),
        Column("runs", right=True),
        Column("last run"),
    ]
    columns.append(Column("description"))
    rows = []
    for item in payload:
        status = item["last_status"] or "-"
        last = (
            "-" if item["last_run_at"] is None else f"{status} {item['last_run_at'][:16].replace('T', ' ')}"
        )
        rows.append(
            [
                cell(visible(item["name"])),
                cell(visible(item["kind"])),
                cell(visible(item["owner"] or "-")),
                cell(str(item["runs"])),
                cell(last, "red" if status == "failed" else ""),
                cell(visible((item["description"] or "").splitlines()[0] if item["description"] else "")),
            ]
        )
    lines = render_table(columns, rows, color=color_enabled(sys.stdout))
    sys.stdout.write("\n".join(lines) + "\n")


@components_app.command(
    "register",
    cls=ReeflineCommand,
    epilog=reflow("  $ reefline components register featurize --owner alice --kind featurizer"),
)
def register_command(
    name: Annotated[str, typer.Argument(help="The component's name, as in @reefline.component(name=…).")],
    owner: Annotated[str | None, typer.Option("--owner", help="Who owns it.", show_default=False)] = None,
    description: Annotated[
        str | None, typer.Option("--description", "-d", help="What it does.", show_default=False)
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            help="Its type: your own word, e.g. featurizer, model, scorer. Default: as it is, or component.",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a component type (or change its kind, owner or description) in this project's store."""
    from reefline.services import components
    from reefline.services.project import open_project_db
    from reefline.store.component_records import ComponentSpec

    engine = open_project_db(project_dir())
    try:
        with engine.begin() as conn:
            row = components.register(conn, ComponentSpec(name, kind, owner, description))
    finally:
        engine.dispose()
    if as_json:
        sys.stdout.write(json.dumps(_shape(row), indent=2) + "\n")
    else:
        sys.stdout.write(f"registered component {visible(row.name)} ({visible(row.kind)})\n")
