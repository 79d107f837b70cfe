"""Which team a team name or a run belongs to, remembered by the API process.

Neither answer ever changes: teams are not renamed or deleted, runs are not deleted and do not
move between teams, and ids are not reused. So an answer found once stays true, and the check in
front of every request usually needs no query. Only answers that found something are kept: an
unknown name or run is asked again (it may exist by the next request).
"""

from __future__ import annotations

MAX_ENTRIES = 100_000


class ScopeCache:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._teams: dict[str, int] = {}
        self._runs: dict[int, int] = {}

    def team_by_name(self, name: str) -> int | None:
        return self._teams.get(name)

    def team_of_run(self, run_id: int) -> int | None:
        return self._runs.get(run_id)

    def remember_team(self, name: str, team_id: int) -> None:
        if len(self._teams) >= self.max_entries:
            self._teams.clear()
        self._teams[name] = team_id

    def remember_run(self, run_id: int, team_id: int) -> None:
        if len(self._runs) >= self.max_entries:
            self._runs.clear()
        self._runs[run_id] = team_id
