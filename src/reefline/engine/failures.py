"""An exception where none should be (a bug, a broken disk, a faulty executor) fails one job, plainly.

The job's reason is ``internal error: <exception>``; the traceback goes into its log as system lines.
"""

from __future__ import annotations

import traceback

MAX_TRACEBACK_LINES = 200


def internal_error(exc: BaseException) -> str:
    """The reason of a job that failed because of ``exc``."""
    text = str(exc).strip()
    name = type(exc).__name__
    return f"internal error: {name}: {text}" if text else f"internal error: {name}"


def traceback_lines(exc: BaseException) -> list[str]:
    """``exc``'s traceback as log lines (at most :data:`MAX_TRACEBACK_LINES`)."""
    lines = [
        line
        for chunk in traceback.format_exception(type(exc), exc, exc.__traceback__)
        for line in chunk.rstrip("\n").split("\n")
    ]
    if len(lines) > MAX_TRACEBACK_LINES:
        cut = len(lines) - MAX_TRACEBACK_LINES
        lines = [*lines[: MAX_TRACEBACK_LINES // 2], f"… {cut} lines …", *lines[-MAX_TRACEBACK_LINES // 2 :]]
    return lines
