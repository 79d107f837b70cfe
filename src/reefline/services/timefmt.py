"""Times and durations as the ``--json`` output and the API show them (no dependencies: every command
imports it)."""

from __future__ import annotations

import functools
import time
from datetime import UTC, datetime


def iso(ts: float | None) -> str | None:
    """Unix seconds as an ISO 8601 string in UTC (the ``--json`` time format)."""
    if ts is None:
        return None
    return _iso(ts)


@functools.lru_cache(maxsize=8192)
def _iso(ts: float) -> str:
    # Remembered: a page of runs read again and again (the web UI, a CLI polling) shows the
    # same few hundred times, and building a datetime for each was a tenth of a list's cost.
    return datetime.fromtimestamp(ts, tz=UTC).isoformat()


def duration_seconds(started: float | None, finished: float | None, now: float | None = None) -> float | None:
    """Seconds between start and finish; a live duration (up to now) when not finished yet."""
    if started is None:
        return None
    end = finished if finished is not None else (now if now is not None else time.time())
    return max(0.0, round(end - started, 3))


def from_iso(text: str | None) -> float | None:
    """The unix seconds of an :func:`iso` string (None stays None)."""
    return None if text is None else datetime.fromisoformat(text).timestamp()
