"""Every log line is numbered within its attempt where it is produced, and stored once."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.exc import OperationalError

from reefline.engine.journal import Journal
from reefline.engine.states import RunState
from reefline.services.project import open_project_db
from reefline.services.queries import iter_logs
from reefline.store import repo
from reefline.store.db import open_database

if TYPE_CHECKING:
    from tests.engine.support import Project


def test_lines_are_numbered_per_attempt_in_the_order_they_were_written(project: Project) -> None:
    project.write(
        """
        version: 1
        name: flaky
        jobs:
          flaky:
            script: ["echo a", "echo b", "echo c", "false"]
            retry: {max: 1, delay: 0}
        """
    )
    outcome, _ = project.run()
    assert outcome.state is RunState.FAILED
    with open_project_db(project.path).connect() as conn:
        rows = repo.read_logs(conn, outcome.run_id)
    by_attempt = {a: [r for r in rows if r.attempt == a] for a in (1, 2)}
    for attempt, mine in by_attempt.items():
        assert [r.seq for r in mine] == list(range(len(mine))), attempt  # in id order, no gap
        assert [r.text for r in mine][:3] == ["a", "b", "c"]
    # the engine's own line about attempt 1 comes from the same counter, after the job's lines
    assert by_attempt[1][-1].stream == "system" and "retrying" in by_attempt[1][-1].text
    assert [row.text for _, row in iter_logs(project.path, "last")].count("a") == 2


def test_a_log_flush_retried_after_its_commit_stores_each_line_once(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write(
        """
        version: 1
        name: hiccup
        jobs:
          a: {script: ["echo one", "sleep 1", "echo two", "sleep 1"]}
        """
    )
    real = Journal._write
    lost: list[int] = []

    def committed_but_reply_lost(self: Journal, now: float, beat: bool) -> None:
        only_logs = self._logs and not (self._jobs or self._new_attempts or self._ended_attempts)
        real(self, now, beat)
        if only_logs and not self._changes and not lost:
            lost.append(len(self._logs))
            raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(Journal, "_write", committed_but_reply_lost)
    outcome, _ = project.run()
    assert outcome.state is RunState.SUCCESS and len(lost) == 1
    assert [row.text for _, row in iter_logs(project.path, "last")] == ["one", "two"]


def test_lines_for_an_attempt_begun_earlier_continue_above_its_numbers(tmp_path: Path) -> None:
    """A retried run writes again about an attempt of the first execution (e.g. a failed prepare)."""
    db = open_database(f"sqlite:///{tmp_path / 'r.db'}")
    with db.begin() as conn:
        pipeline = repo.get_or_create_pipeline(conn, "p", "/p/reefline.yml", 1.0)
        run_id = repo.create_run(
            conn, pipeline_id=pipeline, spec_text="", spec_path="/p/reefline.yml", spec_hash="0" * 64,
            params={}, workspace="/p", options={}, trigger="cli", owner_host="h", owner_pid=1, now=1.0,
        )  # fmt: skip
        job = {"name": "a", "job": "a", "stage": "test", "position": 0, "matrix": {}, "needs": []}
        job_id = repo.create_jobs(conn, run_id, [{**job, "state": "pending"}])["a"]
        repo.insert_log_lines(
            conn,
            [{"run_id": run_id, "job_id": job_id, "attempt": 0, "seq": s, "ts": 1.0, "stream": "system",
              "text": f"first {s}"} for s in range(3)],
        )  # fmt: skip
    journal = Journal(db, run_id)
    assert journal.next_seq(job_id, 0) == 3
    assert journal.next_seq(job_id, 1) == 0
    journal.log(job_id, 0, "system", 2.0, "again", seq=3)
    assert journal.next_seq(job_id, 0) == 4  # what is buffered counts too
    journal.flush()
    with db.connect() as conn:
        assert [r.text for r in repo.read_logs(conn, run_id)] == ["first 0", "first 1", "first 2", "again"]
    db.dispose()
