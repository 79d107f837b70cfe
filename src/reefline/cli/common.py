"""Small helpers every command shares: where the project is, consoles, and how times look.

Nothing here knows about runs or specs; it only formats and resolves paths.
"""

from __future__ import annotations

import errno
import os
import sys
import time
from datetime import datetime
from pathlib import Path

from rich.console import Console

from reefline.engine.states import JobState, RunState

DEFAULT_SPEC = "reefline.yaml"


class CliError(Exception):
    """A user mistake found by the CLI itself (a missing file, a bad ``-p``): ``error: …``, exit 2."""


# Set by the app callback from the global ``--project DIR`` option (None: the current directory).
_project_override: Path | None = None


def set_project_override(path: Path | None) -> None:
    global _project_override
    _project_override = path


def project_dir() -> Path:
    """The project whose ``.reefline/`` store ``runs``/``show``/``logs``/``retry``/``cancel`` read."""
    return (_project_override or Path.cwd()).resolve()


def spec_path(file: Path | None) -> Path:
    """The spec a command works on: FILE if given (its directory is the project), else the project's
    ``reefline.yaml``, else its only ``*.reefline.yaml``."""
    if file is not None:
        return file.resolve()
    folder = project_dir()
    default = folder / DEFAULT_SPEC
    if default.exists():
        return default
    others = sorted(folder.glob(f"*.{DEFAULT_SPEC}"))
    if len(others) == 1:
        return others[0]
    if others:
        names = ", ".join(p.name for p in others)
        raise CliError(
            f"several pipelines here ({names}): name the one to use, e.g. `reefline run {others[0].name}`"
        )
    return default


def display_path(path: Path) -> str:
    """A path as the user would type it: relative to the current directory when below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """`reefline show last | head`: the app's one EPIPE handler exits 0 (rich would exit 1)."""
        raise BrokenPipeError(errno.EPIPE, "the reader of stdout went away")


def stdout_console() -> Console:
    return _Console(highlight=False, soft_wrap=True)


def table_console() -> Console:
    """A console for tables on stdout: on a terminal its width; elsewhere (a pipe, a file) wide
    enough that no cell is ever cut, so two long job names never look the same."""
    console = stdout_console()
    if console.is_terminal:
        return console
    return _Console(highlight=False, soft_wrap=False, width=100_000)


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def color_enabled(stream: object = None) -> bool:
    """Whether to write ANSI colours to ``stream`` (stdout by default); honours NO_COLOR and FORCE_COLOR."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    target = stream if stream is not None else sys.stdout
    isatty = getattr(target, "isatty", None)
    return bool(isatty and isatty())


def format_duration(seconds: float | None) -> str:
    """``0.4s``, ``12.3s``, ``1m03s``, ``2h05m``."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    total = int(seconds)
    if total < 3600:
        return f"{total // 60}m{total % 60:02d}s"
    return f"{total // 3600}h{(total % 3600) // 60:02d}m"


def format_ago(ts: float | None, now: float | None = None) -> str:
    """``just now``, ``42s ago``, ``2m ago``, ``3h ago``, ``5d ago``; a date after a month."""
    if ts is None:
        return "-"
    delta = (now if now is not None else time.time()) - ts
    if delta < 5:
        return "just now"
    if delta < 60:
        return f"{int(delta)}s ago"
    if delta < 3600:
        return f"{int(delta // 60)}m ago"
    if delta < 86400:
        return f"{int(delta // 3600)}h ago"
    if delta < 30 * 86400:
        return f"{int(delta // 86400)}d ago"
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d")


_CONTROL = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F)}


def visible(text: str) -> str:
    """``text`` with control characters (NUL, ESC, …) written as ``\\xNN``: what a job or a file
    name holds cannot move the cursor, recolour the terminal, or hide in a table."""
    return text.translate(_CONTROL)


STATE_STYLES: dict[str, str] = {
    JobState.PENDING: "dim",
    JobState.QUEUED: "dim",
    JobState.RUNNING: "blue",
    RunState.CANCELING: "yellow",
    JobState.SUCCESS: "green",
    JobState.CACHED: "cyan",
    JobState.FAILED: "red",
    JobState.SKIPPED: "dim",
    JobState.CANCELED: "yellow",
    JobState.INTERRUPTED: "magenta",
}


def state_markup(state: str) -> str:
    """Rich markup for a run or job state (the names are those of engine/states.py)."""
    style = STATE_STYLES.get(str(state), "")
    return f"[{style}]{state}[/]" if style else str(state)
