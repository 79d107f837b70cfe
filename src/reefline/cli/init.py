"""``reefline init``: a commented starter ``reefline.yaml`` that runs as is."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from reefline.cli import common

EPILOG = """\
[bold]Examples[/]

$ reefline init

$ reefline init my-experiment && cd my-experiment && reefline run

$ reefline init --force  [dim]# overwrite an existing reefline.yaml[/]
"""


def starter_spec() -> str:
    """The text of the starter pipeline (``cli/templates/reefline.yaml``)."""
    return (
        resources.files("reefline.cli").joinpath("templates", common.DEFAULT_SPEC).read_text(encoding="utf-8")
    )


STORE_DIR = ".reefline"


def ignore_store(folder: Path) -> bool:
    """Inside a git work tree, list ``.reefline/`` in ``.gitignore`` (once); True if it was added."""
    if not any((parent / ".git").exists() for parent in (folder, *folder.parents)):
        return False
    gitignore = folder / ".gitignore"
    lines = gitignore.read_text(encoding="utf-8").splitlines() if gitignore.exists() else []
    if any(line.strip().rstrip("/").lstrip("/") == STORE_DIR for line in lines):
        return False
    prefix = "\n" if lines and not gitignore.read_text(encoding="utf-8").endswith("\n") else ""
    with gitignore.open("a", encoding="utf-8") as f:
        f.write(f"{prefix}{STORE_DIR}/\n")
    return True


def init_command(
    directory: Annotated[
        Path | None,
        typer.Argument(
            help="Where to write reefline.yaml (created if missing). Default: the project directory.",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", "-f", help="Overwrite an existing reefline.yaml.")
    ] = False,
) -> None:
    """Write a commented starter reefline.yaml.

    The starter is a small working pipeline — stages, params, a matrix, typed inputs and outputs
    wired with from:, and metrics — that you can run right away with `reefline run` and then
    edit into your own. An existing reefline.yaml is never overwritten without --force. Inside a
    git repository, .reefline/ (the run database and artifact copies) is added to .gitignore.
    """
    target_dir = (directory if directory is not None else common.project_dir()).resolve()
    target = target_dir / common.DEFAULT_SPEC
    if target.exists() and not force:
        raise common.CliError(f"{common.display_path(target)} already exists (use --force to overwrite it)")
    target_dir.mkdir(parents=True, exist_ok=True)
    target.write_text(starter_spec(), encoding="utf-8")
    console = common.stdout_console()
    shown = common.display_path(target)
    console.print(f"[green]✓[/] wrote {shown}")
    if ignore_store(target_dir):
        console.print(f"[green]✓[/] added {STORE_DIR}/ (runs and artifact copies) to .gitignore")
    prefix = "" if target_dir == Path.cwd().resolve() else f"cd {common.display_path(target_dir)} && "
    console.print(f"  next: {prefix}reefline validate && reefline run")
