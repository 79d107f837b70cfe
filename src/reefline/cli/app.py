"""The ``reefline`` typer app, its global options, and the one place exceptions become exit codes.

Exit codes (documented in the README and in ``reefline --help``):

* 0 — success;
* 1 — the run failed (or was canceled from elsewhere);
* 2 — invalid spec, bad usage, or a user-facing or environment error (``error: <message>`` on stderr);
* 3 — an internal error, i.e. a bug (``internal error: …`` and the path of a file with the traceback);
* 130 — interrupted with Ctrl-C (the run is recorded as canceled).

Command modules are imported only for the command being run (:func:`build_app` with ``only``), and
each imports services lazily inside its function body, so ``reefline --help`` and ``reefline runs``
do not pay for what they do not use.
"""

from __future__ import annotations

import errno
import importlib
import inspect
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup
from typer.exceptions import Abort, Exit, TyperException

from reefline.cli import crash

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130

# name -> (module, function, epilog attribute), in the order `reefline --help` lists them.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": ("reefline.cli.init", "init_command", "EPILOG"),
    "validate": ("reefline.cli.validate", "validate_command", "EPILOG"),
    "schema": ("reefline.cli.schema", "schema_command", "EPILOG"),
    "run": ("reefline.cli.run", "run_command", "RUN_EPILOG"),
    "runs": ("reefline.cli.history", "runs_command", "RUNS_EPILOG"),
    "show": ("reefline.cli.history", "show_command", "SHOW_EPILOG"),
    "logs": ("reefline.cli.logs", "logs_command", "EPILOG"),
    "retry": ("reefline.cli.run", "retry_command", "RETRY_EPILOG"),
    "cancel": ("reefline.cli.run", "cancel_command", "CANCEL_EPILOG"),
    "compare": ("reefline.cli.experiments", "compare_command", "COMPARE_EPILOG"),
    "metrics": ("reefline.cli.experiments", "metrics_command", "METRICS_EPILOG"),
    "checkout": ("reefline.cli.experiments", "checkout_command", "CHECKOUT_EPILOG"),
    "reproduce": ("reefline.cli.reproduce", "reproduce_command", "EPILOG"),
    "gc": ("reefline.cli.experiments", "gc_command", "GC_EPILOG"),
    "server": ("reefline.cli.server", "server_command", "EPILOG"),
    "login": ("reefline.cli.login", "login_command", "LOGIN_EPILOG"),
    "logout": ("reefline.cli.login", "logout_command", "LOGOUT_EPILOG"),
    "push": ("reefline.cli.push", "push_command", "EPILOG"),
    "revisions": ("reefline.cli.revisions", "revisions_command", "REVISIONS_EPILOG"),
    "diff": ("reefline.cli.revisions", "diff_command", "DIFF_EPILOG"),
    "rollback": ("reefline.cli.revisions", "rollback_command", "ROLLBACK_EPILOG"),
    "admin": ("reefline.cli.admin", "admin_app", "EPILOG"),  # a group: `reefline admin create-user …`
    "lsp": ("reefline.cli.lsp", "lsp_command", "EPILOG"),
    "trace": ("reefline.cli.trace", "trace_command", "EPILOG"),
    "components": ("reefline.cli.components", "components_app", "EPILOG"),  # a group: `… register`
}
# errno values of OSErrors that are the environment's doing (permissions, read-only or full disks).
_ENVIRONMENT_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT})


def print_error(message: str) -> None:
    """``error: <message>`` on stderr; control characters a file name or an id brought in are shown
    as ``\\xNN`` (the message's own line breaks stay)."""
    from reefline.cli.common import visible

    sys.stdout.flush()
    shown = "\n".join(visible(line) for line in message.split("\n"))
    sys.stderr.write(f"error: {shown}\n")
    sys.stderr.flush()


def user_error(exc: BaseException) -> str | None:
    """The message of an exception meant for the user (exit 2), or None for a bug (exit 3)."""
    from reefline.cli.common import CliError
    from reefline.services.types import ServiceError
    from reefline.store.errors import StoreError

    if isinstance(exc, CliError | ServiceError | StoreError):
        return str(exc)
    if isinstance(exc, OSError) and exc.errno in _ENVIRONMENT_ERRNOS:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    return None


def exit_code_for(exc: Exception, *, debug: bool) -> int:
    """Print what the user should see for ``exc`` and return the exit code (2 or 3)."""
    message = user_error(exc)
    if message is None:
        crash.print_internal_error(exc, debug=debug)
        return EXIT_INTERNAL
    from reefline.services.types import SpecInvalid

    if isinstance(exc, SpecInvalid):
        from reefline.cli import validate

        validate.print_diagnostics(exc.diagnostics, sys.stderr)
    print_error(message)
    return EXIT_USAGE


def _flags_without_type(params: list[Any]) -> list[Any]:
    """typer labels every option with its type; a flag takes no value, so it gets none (not ``<bool>``)."""
    for param in params:
        if getattr(param, "is_flag", False) and not getattr(param, "metavar", None):
            param.metavar = ""
    return params


class ReeflineCommand(TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        return _flags_without_type(super().get_params(ctx))


class ReeflineGroup(TyperGroup):
    """Maps user-facing errors to ``error: <message>`` + exit 2, bugs to exit 3, Ctrl-C to 130.

    It sits in the click command tree (not only in :func:`main`) so ``CliRunner`` tests see the same
    behaviour as the installed script.
    """

    def get_params(self, ctx: Any) -> list[Any]:
        return _flags_without_type(super().get_params(ctx))

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            sys.stderr.write("\ninterrupted\n")
            raise Exit(EXIT_INTERRUPTED) from None
        except (Exit, Abort, TyperException, EOFError):
            raise  # typer's own: exits, usage errors
        except OSError as exc:
            if exc.errno == errno.EPIPE:  # `reefline show last | head`: the reader has enough
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())  # no second EPIPE when Python flushes at exit
                raise Exit(0) from None
            raise Exit(exit_code_for(exc, debug=bool(ctx.params.get("debug")))) from None
        except Exception as exc:
            raise Exit(exit_code_for(exc, debug=bool(ctx.params.get("debug")))) from None


def _version(value: bool) -> None:
    if value:
        from reefline import __version__

        typer.echo(f"reefline {__version__}")
        raise Exit()


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
    debug: Annotated[
        bool,
        typer.Option("--debug", help="On an internal error, print the traceback (not only its file)."),
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", callback=_version, is_eager=True),
    ] = False,
) -> None:
    from reefline.cli import common

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


ROOT_EPILOG = (
    "Start with [bold]reefline init[/], then [bold]reefline run[/]. "
    "Exit codes: 0 ok, 1 run failed, 2 invalid spec, usage or environment error (error: …), "
    "3 internal error (a bug: the traceback is saved to a file), 130 interrupted."
)


def _register(app: typer.Typer, name: str) -> None:
    module_name, function, epilog = COMMANDS[name]
    module = importlib.import_module(module_name)
    func: Callable[..., None] = getattr(module, function)
    if isinstance(func, typer.Typer):  # a group of subcommands
        app.add_typer(func, name=name, epilog=reflow(getattr(module, epilog)))
        return
    app.command(
        name,
        cls=ReeflineCommand,
        help=reflow(inspect.cleandoc(func.__doc__ or "")),
        epilog=reflow(getattr(module, epilog)),
    )(func)


def build_app(only: str | None = None) -> typer.Typer:
    """The app with every command, or with only the command ``only`` (what ``main`` runs)."""
    app = typer.Typer(
        cls=ReeflineGroup,
        name="reefline",
        help="Typed, cached ML and CI pipelines from one YAML file.",
        epilog=ROOT_EPILOG,
        no_args_is_help=True,
        rich_markup_mode="rich",
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
        add_completion=False,
    )
    app.callback()(_root)
    for name in COMMANDS if only is None else (only,):
        _register(app, name)
    return app
