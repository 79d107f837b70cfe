"""The ``reefline`` command: the app, its global options, and the one place errors become exit codes.

Exit codes (documented in the README):

* 0 — success;
* 1 — the run failed (or was canceled from elsewhere);
* 2 — invalid spec, bad usage, or any user-facing service error (``error: <message>`` on stderr);
* 130 — interrupted with Ctrl-C (the run is recorded as canceled).

Command modules are imported here, but each imports services lazily inside its function body,
so ``reefline --help`` does not pay for SQLAlchemy and friends.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from reefline.cli import common, history, init, logs, run, schema, validate

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _user_error_types() -> tuple[type[BaseException], ...]:
    """Exceptions whose message is for the user: ServiceError and the store's errors."""
    from reefline.services.types import ServiceError
    from reefline.store.errors import StoreError

    return (common.CliError, ServiceError, StoreError)


def print_error(message: str) -> None:
    sys.stdout.flush()
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()


class ReeflineGroup(TyperGroup):
    """Maps user-facing errors to ``error: <message>`` + exit 2, and Ctrl-C to exit 130, in one place.

    It sits in the click command tree (not only in :func:`main`) so ``CliRunner`` tests see the same
    behaviour as the installed script.
    """

    def invoke(self, ctx: Any) -> Any:
        from reefline.services.types import SpecInvalid

        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            sys.stderr.write("\ninterrupted\n")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:
            if isinstance(exc, _user_error_types()):
                if isinstance(exc, SpecInvalid):
                    validate.print_diagnostics(exc.diagnostics, sys.stderr)
                print_error(str(exc))
                raise typer.Exit(EXIT_USAGE) from None
            raise


app = typer.Typer(
    cls=ReeflineGroup,
    name="reefline",
    help="Typed, cached ML and CI pipelines from one YAML file.",
    epilog="Start with [bold]reefline init[/], then [bold]reefline run[/]. "
    "Exit codes: 0 ok, 1 run failed, 2 invalid spec or usage, 130 interrupted.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        from reefline import __version__

        typer.echo(f"reefline {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    project: Annotated[
        Path | None,
        typer.Option(
            "--project",
            "-C",
            help="Project directory (holds reefline.yaml and .reefline/). Default: the current directory.",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", callback=_version, is_eager=True),
    ] = False,
) -> None:
    common.set_project_override(project)


def reflow(text: str | None) -> str:
    """Join the hard-wrapped lines of each paragraph (typer keeps them); paragraphs with lines
    indented by two spaces or more (examples) stay as they are."""
    paragraphs = []
    for block in (text or "").strip("\n").split("\n\n"):
        lines = block.splitlines()
        if any(line.startswith("  ") for line in lines):
            paragraphs.append(block)
        else:
            paragraphs.append(" ".join(line.strip() for line in lines))
    return "\n\n".join(paragraphs)


def _register(name: str, func: Callable[..., None], epilog: str) -> None:
    app.command(name, help=reflow(inspect.cleandoc(func.__doc__ or "")), epilog=reflow(epilog))(func)


_register("init", init.init_command, init.EPILOG)
_register("validate", validate.validate_command, validate.EPILOG)
_register("schema", schema.schema_command, schema.EPILOG)
_register("run", run.run_command, run.RUN_EPILOG)
_register("runs", history.runs_command, history.RUNS_EPILOG)
_register("show", history.show_command, history.SHOW_EPILOG)
_register("logs", logs.logs_command, logs.EPILOG)
_register("retry", run.retry_command, run.RETRY_EPILOG)
_register("cancel", run.cancel_command, run.CANCEL_EPILOG)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
