"""Log lines: paging with after_id, per-job reading, and following while the engine writes (SQLite)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from store_factories import RunFactory, job_rows, new_run

from reefline.store import repo
from reefline.store.db import open_database


def _lines(run_id: int, job_id: int, start: int, count: int) -> list[dict[str, Any]]:
    return [
        {
            "run_id": run_id,
            "job_id": job_id,
            "attempt": 1,
            "seq": i,
            "ts": float(i),
            "stream": "stderr" if i % 5 == 0 else "stdout",
            "text": f"line {i} ✓",
        }
        for i in range(start, start + count)
    ]


def test_read_logs_pages_with_after_id(store_engine: Engine, new_run: RunFactory) -> None:
    with store_engine.begin() as conn:
        run_id = new_run(conn)
        other_run = new_run(conn)
        ids = repo.create_jobs(conn, run_id, job_rows(2))
        other_job = repo.create_jobs(conn, other_run, job_rows(1))["job0"]
        repo.insert_log_lines(conn, _lines(run_id, ids["job0"], 0, 25))
        repo.insert_log_lines(conn, _lines(other_run, other_job, 0, 5))
        repo.insert_log_lines(conn, _lines(run_id, ids["job1"], 25, 10))
        repo.insert_log_lines(conn, [])

    seen: list[str] = []
    after = 0
    with store_engine.connect() as conn:
        while page := repo.read_logs(conn, run_id, after_id=after, limit=7):
            assert len(page) <= 7
            seen.extend(line.text for line in page)
            after = page[-1].id
        assert seen == [f"line {i} ✓" for i in range(35)]

        job1 = repo.read_logs(conn, run_id, job_id=ids["job1"])
        assert [line.ts for line in job1] == [float(i) for i in range(25, 35)]
        assert {line.job_id for line in job1} == {ids["job1"]}
        assert job1[0].stream == "stderr" and job1[0].attempt == 1
        assert repo.read_logs(conn, run_id, after_id=after) == []


def test_follow_logs_while_another_connection_writes(tmp_path: Path) -> None:
    """`reefline logs -f` in one terminal while the engine writes small batches: no lock errors, no gaps."""
    url = f"sqlite:///{tmp_path / 'reefline.db'}"
    writer_engine = open_database(url)
    reader_engine = open_database(url)  # a separate process would have its own engine, like this
    batches, per_batch = 300, 5
    with writer_engine.begin() as conn:
        run_id = new_run(conn)
        job_id = repo.create_jobs(conn, run_id, job_rows(1))["job0"]
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for batch in range(batches):
                with writer_engine.begin() as conn:
                    repo.insert_log_lines(conn, _lines(run_id, job_id, batch * per_batch, per_batch))
                    repo.heartbeat(conn, run_id, time.time())
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    seen: list[float] = []
    after = 0
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            finished = not writer.is_alive()
            with reader_engine.connect() as conn:
                page = repo.read_logs(conn, run_id, after_id=after, limit=100)
                repo.is_cancel_requested(conn, run_id)
            if page:
                seen.extend(line.ts for line in page)
                after = page[-1].id
            elif finished:
                break
    finally:
        writer.join()
        writer_engine.dispose()
        reader_engine.dispose()
    assert errors == []
    assert seen == [float(i) for i in range(batches * per_batch)]
