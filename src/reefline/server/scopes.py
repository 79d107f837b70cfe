"""Which team a team name or a run belongs to, remembered by the API process.

Neither answer ever changes: teams are not renamed or deleted, runs are not deleted and do not
move between teams, and ids are not reused. So an answer found once stays true, and the check in
front of every request usually needs no query. Only answers that found something are kept: an
unknown name or run is asked again (it may exist by the next request).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

MAX_ENTRIES = 100_000

K = TypeVar("K", bound=Hashable)


class Remembered(Generic[K]):
    """Team ids by key, at most ``max_entries`` (then it starts again empty)."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._found: dict[K, int] = {}

    def get(self, key: K, find: Callable[[], int | None]) -> int | None:
        """The remembered answer for ``key``, else ``find()`` (remembered unless None)."""
        team_id = self._found.get(key)
        if team_id is None:
            team_id = find()
            if team_id is not None:
                if len(self._found) >= self.max_entries:
                    self._found.clear()
                self._found[key] = team_id
        return team_id


class ScopeCache:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.teams: Remembered[str] = Remembered(max_entries)  # team name -> id
        self.runs: Remembered[int] = Remembered(max_entries)  # run id -> its team's id
