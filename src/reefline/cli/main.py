"""The ``reefline`` console script: the fast paths, then the typer app of :mod:`reefline.cli.app`.

This module stays cheap to import: ``reefline --version`` answers before typer is loaded, and
``reefline COMMAND`` builds the app with only that command (so only its module is imported).
Errors become exit codes in one place, :class:`reefline.cli.app.ReeflineGroup` (0 ok, 1 run
failed, 2 user or environment error, 3 internal error, 130 interrupted).

``app`` (every command registered, for ``CliRunner`` tests), ``ReeflineGroup`` and ``reflow`` are
re-exported from :mod:`reefline.cli.app` on first access.

Garbage collection: a command imports 300-500 modules' worth of long-lived objects (SQLAlchemy,
pydantic, rich, typer) and then mostly exits. With the default thresholds Python runs dozens of
collections over that growing heap during start-up, and a last full one at exit; together they
cost about a quarter of a short command's wall time (``bench/startup.py``). So the first
generation collects every 50,000 allocations instead of 700 (cyclic garbage is still collected, a
long run included), and at exit the heap is frozen so the final collection skips it.

Pydantic plugins: before building its first validator, pydantic imports ``importlib.metadata`` and
scans every installed distribution for plugins (about a seventh of ``reefline validate``). Reefline's
own models use none, so this process answers "no plugins" without the scan
(:func:`skip_pydantic_plugin_discovery`); the jobs it starts are separate processes and unaffected.
"""

from __future__ import annotations

import gc
import os
import sys

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: `reefline --version` need not import typing
if TYPE_CHECKING:
    from typing import Any

GC_THRESHOLDS = (50_000, 20, 100)

# Global options of `reefline` that take a value (the command name comes after them).
_VALUE_OPTIONS = ("-C", "--project")


def command_name(args: list[str]) -> str | None:
    """The command in ``args`` (the first word that is not a global option or its value)."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in _VALUE_OPTIONS:
            skip = True
        elif not arg.startswith("-"):
            return arg
        elif arg == "--":
            return None
    return None


def skip_pydantic_plugin_discovery() -> None:
    """Make pydantic's plugin loader (imported on first use, only by its schema validator factory)
    a module that reports no plugins. A no-op if pydantic's loader is already imported."""
    name = "pydantic.plugin._loader"
    if name not in sys.modules:
        loader = type(sys)(name)
        loader.get_plugins = tuple  # type: ignore[attr-defined]  # get_plugins() -> ()
        sys.modules[name] = loader


def dump_threads_on_sigusr1() -> None:
    """``kill -USR1 PID`` prints every thread's stack on stderr and the command goes on: what a
    command that seems stuck is doing, without stopping it."""
    import faulthandler
    import signal

    if hasattr(signal, "SIGUSR1"):
        faulthandler.register(signal.SIGUSR1, all_threads=True)


def main() -> None:
    """Console-script entry point."""
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        _main(sys.argv[1:])
    finally:
        store = sys.modules.get("reefline.store.db")
        if store is not None:
            store.dispose_all()  # close SQLite deterministically (checkpoints the WAL), not by GC
        gc.freeze()  # exiting: the final collection need not walk every imported object


def _main(args: list[str]) -> None:
    if args[:1] == ["--version"]:
        from reefline import __version__

        sys.stdout.write(f"reefline {__version__}\n")
        return
    try:
        os.getcwd()
    except FileNotFoundError:
        sys.stderr.write("error: the current folder was removed; cd to an existing one\n")
        sys.exit(2)
    from reefline.cli import daemon_client

    if daemon_client.wanted(command_name(args)):
        code = daemon_client.run(args)
        if code is not None:
            sys.exit(code)
    skip_pydantic_plugin_discovery()
    dump_threads_on_sigusr1()
    from reefline.cli.app import COMMANDS, EXIT_INTERNAL, build_app

    name = command_name(args)
    try:
        app = build_app(only=name if name in COMMANDS else None)
    except Exception as exc:  # a command module that does not import: a bug, reported as one
        from reefline.cli import crash

        crash.print_internal_error(exc, debug="--debug" in args)
        sys.exit(EXIT_INTERNAL)
    app()


def __getattr__(name: str) -> Any:
    if name in ("app", "ReeflineGroup", "reflow", "build_app"):
        from reefline.cli import app as module

        value = module.build_app() if name == "app" else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":  # pragma: no cover
    main()
