"""Crash reports: the traceback of a bug goes to a file, the user gets one line and its path.

The file goes under ``$XDG_STATE_HOME/reefline/`` (default ``~/.local/state/reefline/``), or the
temporary directory when that cannot be written, never into the project (which may be read-only).
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from pathlib import Path


def state_dir() -> Path:
    """``$XDG_STATE_HOME/reefline``, or ``~/.local/state/reefline``."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "reefline"


def summary(exc: BaseException) -> str:
    """``TypeName: first line of the message``, printable on one line."""
    lines = str(exc).strip().splitlines()
    first = lines[0] if lines else ""
    name = type(exc).__name__
    text = f"{name}: {first}" if first else name
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _cwd() -> str:
    try:
        return os.getcwd()
    except OSError as exc:
        return f"({exc.strerror})"


def report_text(exc: BaseException) -> str:
    from reefline import __version__

    head = [
        f"reefline {__version__} on Python {sys.version.split()[0]} ({sys.platform})",
        f"command: {' '.join(sys.argv)}",
        f"cwd: {_cwd()}",
        f"time: {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
        "",
    ]
    return "\n".join(head) + "".join(traceback.format_exception(exc))


def write_report(exc: BaseException) -> Path | None:
    """Write the report to the first folder that takes it; None when none does."""
    import tempfile

    name = f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
    text = report_text(exc)
    for folder in (state_dir(), Path(tempfile.gettempdir())):
        path = folder / (name if folder != Path(tempfile.gettempdir()) else f"reefline-{name}")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with open(path, "x", encoding="utf-8") as f:
                f.write(text)
        except OSError:
            continue
        return path
    return None


def print_internal_error(exc: BaseException, *, debug: bool) -> None:
    """``internal error: …`` on stderr, then the traceback (``--debug``) or where it was written."""
    sys.stdout.flush()
    sys.stderr.write(f"internal error: {summary(exc)}\n")
    if debug:
        sys.stderr.write("".join(traceback.format_exception(exc)))
    else:
        path = write_report(exc)
        where = f"the traceback is in {path}" if path is not None else "the traceback could not be saved"
        sys.stderr.write(f"{where}; this is a bug in Reefline, please report it (--debug prints it)\n")
    sys.stderr.flush()
