"""Jobs and attempts: bulk creation and update, lookups, attempts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event
from store_factories import RunFactory, job_rows

from reefline.store import repo
from reefline.store.errors import JobNotFound


def _count_statements(conn: Connection) -> list[tuple[str, bool]]:
    seen: list[tuple[str, bool]] = []

    def record(_c: Any, _cursor: Any, statement: str, _params: Any, _ctx: Any, executemany: bool) -> None:
        seen.append((statement.split(maxsplit=1)[0].upper(), executemany))

    event.listen(conn, "before_cursor_execute", record)
    return seen


def test_create_jobs_is_one_executemany_and_one_select(store_engine: Engine, new_run: RunFactory) -> None:
    with store_engine.begin() as conn:
        run_id = new_run(conn)
        statements = _count_statements(conn)
        ids = repo.create_jobs(conn, run_id, job_rows(1000))
    assert [kind for kind, _ in statements] == ["INSERT", "SELECT"]
    assert len(ids) == 1000 and len(set(ids.values())) == 1000
    with store_engine.connect() as conn:
        jobs = repo.list_jobs(conn, run_id)
    assert [job.name for job in jobs] == [f"job{i}" for i in range(1000)]
    second = jobs[1]
    assert ids["job1"] == second.id
    assert second.matrix == {"i": 1} and second.needs == ["job0"]
    assert (second.state, second.attempts, second.allow_failure) == ("pending", 0, False)
    assert jobs[7].allow_failure is True
    assert second.cache_key is None and second.cached_from_job_id is None


def test_create_jobs_with_no_rows(store_engine: Engine, new_run: RunFactory) -> None:
    with store_engine.begin() as conn:
        assert repo.create_jobs(conn, new_run(conn), []) == {}


def test_update_jobs_in_bulk(store_engine: Engine, new_run: RunFactory) -> None:
    with store_engine.begin() as conn:
        run_id = new_run(conn)
        ids = repo.create_jobs(conn, run_id, job_rows(50))
        statements = _count_statements(conn)
        repo.update_jobs(
            conn,
            [{"id": job_id, "state": "queued", "reason": f"r{job_id}"} for job_id in ids.values()],
        )
        assert statements == [("UPDATE", True)]
        jobs = repo.list_jobs(conn, run_id)
        repo.update_jobs(conn, [])  # nothing to do
        repo.update_jobs(conn, [{"id": jobs[0].id}])  # nothing to set
        assert statements == [("UPDATE", True), ("SELECT", False)]
    assert {(job.state, job.reason) for job in jobs} == {("queued", f"r{job.id}") for job in jobs}


def test_update_job_and_get_job(store_engine: Engine, new_run: RunFactory) -> None:
    with store_engine.begin() as conn:
        ids = repo.create_jobs(conn, new_run(conn), job_rows(2))
        repo.update_job(conn, ids["job1"], state="failed", exit_code=3, attempts=2, finished_at=5.0)
        job = repo.get_job(conn, ids["job1"])
        assert (job.state, job.exit_code, job.attempts, job.finished_at) == ("failed", 3, 2, 5.0)
        assert repo.get_job(conn, ids["job0"]).state == "pending"
        with pytest.raises(JobNotFound):
            repo.update_job(conn, max(ids.values()) + 1, state="failed")


def test_get_job_by_name(store_engine: Engine, new_run: RunFactory) -> None:
    with store_engine.begin() as conn:
        run_id = new_run(conn)
        repo.create_jobs(conn, run_id, job_rows(3, prefix="train"))
        assert repo.get_job_by_name(conn, run_id, "train2").position == 2
        with pytest.raises(JobNotFound) as missing:
            repo.get_job_by_name(conn, run_id, "trian2")
    message = str(missing.value)
    assert f"run {run_id} has no job 'trian2'" in message
    assert "did you mean 'train2'?" in message
    assert "train0, train1, train2" in message
    assert missing.value.available == ["train0", "train1", "train2"]
    with store_engine.begin() as conn, pytest.raises(JobNotFound) as unlike:
        repo.get_job_by_name(conn, run_id, "zzz")
    assert str(unlike.value) == f"run {run_id} has no job 'zzz'; its jobs: train0, train1, train2"


def test_attempts(store_engine: Engine, new_run: RunFactory) -> None:
    with store_engine.begin() as conn:
        job_id = repo.create_jobs(conn, new_run(conn), job_rows(1))["job0"]
        first = repo.create_attempt(conn, job_id, 1, "running", 10.0)
        repo.update_attempt(conn, first, state="failed", exit_code=1, error="oom", finished_at=11.0)
        second = repo.create_attempt(conn, job_id, 2, "running", 12.0)
        repo.update_attempt(conn, second, state="success", exit_code=0, cpu_seconds=0.5, peak_rss_bytes=2**40)
        attempts = repo.list_attempts(conn, job_id)
    assert [(a.number, a.state, a.exit_code) for a in attempts] == [(1, "failed", 1), (2, "success", 0)]
    assert attempts[0].error == "oom" and attempts[1].peak_rss_bytes == 2**40


def test_deleting_a_run_cascades(store_engine: Engine, new_run: RunFactory) -> None:
    from sqlalchemy import func, select

    from reefline.store.tables import jobs, runs

    count: Callable[[Connection], int] = lambda conn: conn.execute(  # noqa: E731
        select(func.count()).select_from(jobs)
    ).scalar_one()
    with store_engine.begin() as conn:
        run_id = new_run(conn)
        ids = repo.create_jobs(conn, run_id, job_rows(3))
        repo.create_attempt(conn, ids["job0"], 1, "running", 0.0)
        assert count(conn) == 3
        conn.execute(runs.delete().where(runs.c.id == run_id))
        assert count(conn) == 0
