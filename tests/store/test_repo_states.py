"""The state history: appended in order, named by job, gone with its run."""

from __future__ import annotations

from sqlalchemy import Engine, text
from store_factories import RunFactory, job_rows

from reefline.store import repo


def test_a_runs_history_lists_its_own_and_its_jobs_changes_in_order(
    store_engine: Engine, new_run: RunFactory
) -> None:
    with store_engine.begin() as conn:
        run_id = new_run(conn, now=10.0)
        other = new_run(conn, now=10.0)
        ids = repo.create_jobs(conn, run_id, job_rows(2))
        repo.insert_state_changes(
            conn,
            [
                repo.state_change(run_id, None, "pending", "running", 11.0),
                repo.state_change(run_id, ids["job1"], "pending", "queued", 12.0, attempt=0),
                repo.state_change(
                    run_id, ids["job0"], "running", "failed", 13.0, reason="exit code 1", attempt=2
                ),
                repo.state_change(other, None, "pending", "running", 11.5),
            ],
        )
    with store_engine.connect() as conn:
        history = repo.list_state_changes(conn, run_id)
    assert [(c.job_name, c.from_state, c.to_state, c.at, c.reason, c.attempt) for c in history] == [
        (None, None, "pending", 10.0, None, None),  # written by create_run
        (None, "pending", "running", 11.0, None, None),
        ("job1", "pending", "queued", 12.0, None, 0),
        ("job0", "running", "failed", 13.0, "exit code 1", 2),
    ]
    with store_engine.begin() as conn:
        conn.execute(text("DELETE FROM runs WHERE id = :id"), {"id": run_id})
        assert repo.list_state_changes(conn, run_id) == []
        assert len(repo.list_state_changes(conn, other)) == 2
