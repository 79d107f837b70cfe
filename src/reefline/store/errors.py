"""What the store raises. Messages are shown to users as they are."""

from __future__ import annotations

import difflib
from collections.abc import Sequence


class StoreError(Exception):
    """Base class of the store's errors."""


class RunNotFound(StoreError):
    """A run reference (``last``, an id) names no run."""

    def __init__(self, ref: str, message: str | None = None) -> None:
        self.ref = ref
        super().__init__(message or f"no run {ref!r}: give a run id (see `reefline runs`) or 'last'")


class JobNotFound(StoreError):
    """A run has no job with that name (or no job has that id)."""

    def __init__(self, ref: str, *, run_id: int | None = None, available: Sequence[str] = ()) -> None:
        self.ref = ref
        self.run_id = run_id
        self.available = list(available)
        where = f"run {run_id} has no job {ref!r}" if run_id is not None else f"no job {ref!r}"
        if not self.available:
            message = where if run_id is None else f"{where} (it has no jobs)"
        else:
            close = difflib.get_close_matches(ref, self.available, n=1)
            jobs = ", ".join(self.available)
            hint = f"; did you mean {close[0]!r}? Its jobs" if close else "; its jobs"
            message = f"{where}{hint}: {jobs}"
        super().__init__(message)


class SchemaError(StoreError):
    """The database schema cannot be used by this version of Reefline (e.g. it is newer)."""
