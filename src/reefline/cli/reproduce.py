"""``reefline reproduce``: re-run a past run in a fresh directory and compare its outputs byte for byte."""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reefline.cli import common
from reefline.cli.run import PlainOpt, VerboseOpt, _observe, _progress

if TYPE_CHECKING:
    from reefline.engine.events import RunObserver
    from reefline.services.reproduce import Reproduction
    from reefline.services.types import RunOutcome

EPILOG = """\
[bold]Examples[/]

$ reefline reproduce last

$ reefline reproduce 12 --into /tmp/run-12  [dim]# keep the reproduction where you want it[/]

$ reefline reproduce 12 --json | jq '.outputs[] | select(.identical | not)'

Exit codes: 0 the run was reproduced and every output is byte-identical; 1 the reproduction failed,
or an output differs; 2 the run is unknown, or the directory given is not empty.
"""


def reproduce_command(
    run: Annotated[str, typer.Argument(help="A run id, or `last`.", metavar="RUN")],
    into: Annotated[
        Path | None,
        typer.Option(
            "--into",
            metavar="DIR",
            help="Reproduce in this directory (missing or empty). Default: a new temporary directory.",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON at the end.")] = False,
    plain: PlainOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Run a past run again from scratch and report which outputs came out byte-identical.

    A fresh directory gets the project's source, the run's own spec text and the exact inputs it
    read (checked by sha256; an input that changed since is put back from the workspace, the run's
    git commit or the artifact store, and one found nowhere is reported). The run then executes
    there with its recorded params, nothing cached, and each output is compared with the one the
    run recorded. The directory is kept, with its own `.reefline/` history.
    """
    from reefline.services.project import open_reader_db
    from reefline.services.reproduce import compare, prepare
    from reefline.services.runs import start_run, workspace_artifacts

    project = common.project_dir()
    reproduction = prepare(project, run, into, workspace_artifacts(project))
    original = reproduction.original
    commit = f", commit {original.git_commit[:12]}" if original.git_commit else ""
    _say(f"reproducing run {original.id} ({original.pipeline_name}{commit}) in {reproduction.directory}")
    for check in reproduction.inputs:
        if check.source not in (None, "source"):
            origin = f"the {check.source}"
            if check.source == "git":
                origin = f"git commit {(original.git_commit or '')[:12]}"
            _say(f"input {check.path}: changed since the run; its bytes came from {origin}")
        elif check.source is None:
            _say(f"input {check.path}: {check.note}")
    progress = _progress(plain, verbose)
    outcome_ids: list[int] = []

    def execute(observer: RunObserver, cancel: threading.Event) -> RunOutcome:
        outcome = start_run(reproduction.spec_path, reproduction.options, observer, cancel)
        outcome_ids.append(outcome.run_id)
        return outcome

    code = _observe(progress, execute)
    if outcome_ids:
        compare(project, reproduction, open_reader_db(reproduction.directory), outcome_ids[0])
    _report(reproduction, as_json)
    raise typer.Exit(0 if code == 0 and reproduction.identical else max(code, 1))


def _report(reproduction: Reproduction, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(_as_json(reproduction), indent=2) + "\n")
        return
    width = max((len(f"{o.job}.{o.output}") for o in reproduction.outputs), default=0)
    for o in reproduction.outputs:
        name = common.visible(f"{o.job}.{o.output}")
        if o.identical:
            verdict = "identical"
        elif o.new_sha256 is None:
            verdict = "not produced"
        else:
            verdict = f"differs: sha256:{o.recorded_sha256[:12]} then, sha256:{o.new_sha256[:12]} now"
        _say(f"{name:<{width}}  {common.visible(o.path)}  {verdict}")
    same = sum(o.identical for o in reproduction.outputs)
    total = len(reproduction.outputs)
    inputs = "" if reproduction.inputs_exact else "; some inputs could not be put back as they were"
    _say(
        f"run {reproduction.original.id} reproduced as run {reproduction.run_id} ({reproduction.state}): "
        f"{same} of {total} outputs byte-identical{inputs}"
    )


def _as_json(reproduction: Reproduction) -> dict[str, object]:
    return {
        "run": reproduction.original.id,
        "reproduction_run": reproduction.run_id,
        "state": reproduction.state,
        "directory": str(reproduction.directory),
        "identical": reproduction.identical,
        "inputs": [asdict(check) for check in reproduction.inputs],
        "outputs": [
            {
                "job": o.job,
                "output": o.output,
                "path": o.path,
                "recorded_sha256": o.recorded_sha256,
                "new_sha256": o.new_sha256,
                "identical": o.identical,
            }
            for o in reproduction.outputs
        ],
    }


def _say(line: str) -> None:
    typer.echo(line)
