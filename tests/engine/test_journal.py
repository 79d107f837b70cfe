"""The journal: state changes go in the same transaction as the change; a failing database is reported."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy.exc import OperationalError

from reefline.engine.journal import JournalError
from reefline.engine.states import RunState
from reefline.services.queries import iter_logs, show_run
from reefline.store import repo

if TYPE_CHECKING:
    from tests.engine.support import Project


def _failing_insert(real: Any) -> Any:
    def insert(conn: Any, rows: list[dict[str, Any]]) -> None:
        if any("boom" in row["text"] for row in rows):
            raise OperationalError("INSERT INTO log_lines", {}, Exception("disk I/O error"))
        real(conn, rows)

    return insert


def test_a_database_that_keeps_failing_ends_the_run_with_the_error(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write(
        """
        version: 1
        name: doomed
        jobs:
          loud: {script: ["echo boom", "sleep 2"]}
        """
    )
    monkeypatch.setattr(repo, "insert_log_lines", _failing_insert(repo.insert_log_lines))
    with pytest.raises(JournalError, match=r"could not record run \d+ in the database: disk I/O error"):
        project.run()
    run = show_run(project.path, "last").run
    assert run.state == RunState.FAILED  # closed with the error, not left running
    assert "disk I/O error" in (run.reason or "")


def test_one_failed_flush_is_retried_and_nothing_is_lost(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write(
        """
        version: 1
        name: hiccup
        jobs:
          a: {script: ["echo one"]}
        """
    )
    real = repo.insert_log_lines
    failures = []

    def once(conn: Any, rows: list[dict[str, Any]]) -> None:
        if rows and not failures:
            failures.append(1)
            raise OperationalError("INSERT INTO log_lines", {}, Exception("database is locked"))
        real(conn, rows)

    monkeypatch.setattr(repo, "insert_log_lines", once)
    outcome, _ = project.run()
    assert outcome.state is RunState.SUCCESS and failures == [1]
    detail = show_run(project.path, "last")
    assert [c.to_state for c in detail.history if c.job_id is None] == ["pending", "running", "success"]
    assert [row.text for _, row in iter_logs(project.path, "last")] == ["one"]
