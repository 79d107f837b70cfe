"""Log lines numbered per attempt: stored once per number, followed without skipping a late line."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select, text
from store_factories import RunFactory, job_rows

from reefline.store import repo, repo_logs
from reefline.store.db import HEAD_REVISION, current_revision, upgrade
from reefline.store.tables import log_lines
from tests.migrating import database_at


def _line(run_id: int, job_id: int, seq: int, *, attempt: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "job_id": job_id,
        "attempt": attempt,
        "seq": seq,
        "ts": float(seq),
        "stream": "stdout",
        "text": f"{job_id}/{attempt}/{seq}",
        **extra,
    }


def _texts(rows: list[Any]) -> list[str]:
    return [row.text for row in rows]


def test_a_batch_written_twice_is_stored_once(store_engine: Engine, new_run: RunFactory) -> None:
    with store_engine.begin() as conn:
        run_id = new_run(conn)
        job_id = repo.create_jobs(conn, run_id, job_rows(1))["job0"]
    batch = [_line(run_id, job_id, seq) for seq in range(5)]
    with store_engine.begin() as conn:
        repo.insert_log_lines(conn, batch)
    with store_engine.begin() as conn:  # the flush is retried: its commit went through, the reply did not
        repo.insert_log_lines(conn, [*batch, _line(run_id, job_id, 5)])
    with store_engine.connect() as conn:
        assert _texts(repo.read_logs(conn, run_id)) == [f"{job_id}/1/{i}" for i in range(6)]


def test_one_jobs_lines_are_read_by_attempt_and_seq(store_engine: Engine, new_run: RunFactory) -> None:
    with store_engine.begin() as conn:
        run_id = new_run(conn)
        job_id = repo.create_jobs(conn, run_id, job_rows(1))["job0"]
        # written out of order: attempt 2 first, then attempt 1's lines in reverse
        repo.insert_log_lines(conn, [_line(run_id, job_id, s, attempt=2) for s in range(3)])
        repo.insert_log_lines(conn, [_line(run_id, job_id, s) for s in reversed(range(3))])
    seen: list[str] = []
    cursor = (0, -1)
    with store_engine.connect() as conn:
        while page := repo_logs.read_job_logs(conn, job_id, after=cursor, limit=2):
            seen.extend(_texts(page))
            cursor = (page[-1].attempt, page[-1].seq)
        assert repo_logs.max_log_seq(conn, job_id, 2) == 2
        assert repo_logs.max_log_seq(conn, job_id, 3) is None
    assert seen == [f"{job_id}/{a}/{s}" for a in (1, 2) for s in range(3)]


def test_a_follower_sees_a_line_committed_late_exactly_once(
    store_engine: Engine, new_run: RunFactory
) -> None:
    """Two writers: the line with the lower id commits after the one with the higher id."""
    with store_engine.begin() as conn:
        run_id = new_run(conn)
        ids = repo.create_jobs(conn, run_id, job_rows(2))
        repo.insert_log_lines(conn, [_line(run_id, ids["job0"], 0), _line(run_id, ids["job1"], 0)])
    cursor = repo_logs.RunLogCursor(run_id, late_check_every=0.0)  # look for late lines at every scan
    assert _texts(list(cursor.scan(store_engine))) == [f"{ids['job0']}/1/0", f"{ids['job1']}/1/0"]
    slow, late = store_engine.connect(), f"{ids['job0']}/1/1"
    try:
        if store_engine.dialect.name == "postgresql":
            slow.begin()  # a slow writer: its id is taken now, its commit comes later
            repo.insert_log_lines(slow, [_line(run_id, ids["job0"], 1)])
            slow_id = slow.execute(select(func.max(log_lines.c.id))).scalar_one()
            with store_engine.begin() as fast:
                repo.insert_log_lines(fast, [_line(run_id, ids["job1"], 1)])
        else:  # SQLite has one writer at a time: the later id is simply written first
            with store_engine.begin() as fast:
                repo.insert_log_lines(fast, [_line(run_id, ids["job1"], 1, id=100)])
            slow.begin()
            repo.insert_log_lines(slow, [_line(run_id, ids["job0"], 1, id=50)])
            slow_id = 50
        assert _texts(list(cursor.scan(store_engine))) == [f"{ids['job1']}/1/1"]
        old_style_after = cursor.top
        slow.commit()
    finally:
        slow.close()
    assert slow_id < old_style_after  # paging by id alone would never return it
    with store_engine.connect() as conn:
        assert late in _texts(repo.read_logs(conn, run_id))
        assert late not in _texts(repo.read_logs(conn, run_id, after_id=old_style_after))
    assert _texts(list(cursor.scan(store_engine))) == [late]
    with store_engine.begin() as conn:
        repo.insert_log_lines(conn, [_line(run_id, ids["job1"], 2)])
    assert _texts(list(cursor.scan(store_engine))) == [f"{ids['job1']}/1/2"]
    assert list(cursor.scan(store_engine)) == []


def test_a_follower_pages_through_a_long_log_once(store_engine: Engine, new_run: RunFactory) -> None:
    with store_engine.begin() as conn:
        run_id = new_run(conn)
        ids = list(repo.create_jobs(conn, run_id, job_rows(3)).values())
        repo.insert_log_lines(conn, [_line(run_id, ids[i % 3], i // 3) for i in range(250)])
    cursor = repo_logs.RunLogCursor(run_id, page=40)
    first = _texts(list(cursor.scan(store_engine)))
    assert first == [f"{ids[i % 3]}/1/{i // 3}" for i in range(250)]
    assert list(cursor.scan(store_engine)) == []


def test_the_migration_numbers_the_lines_of_a_0002_database(store_url: str, new_run: RunFactory) -> None:
    engine = database_at(store_url, "0002")
    try:
        with engine.begin() as conn:
            run_id = new_run(conn)
            ids = repo.create_jobs(conn, run_id, job_rows(2))
            for i in range(6):
                conn.execute(
                    text(
                        "INSERT INTO log_lines (run_id, job_id, attempt, ts, stream, text) "
                        "VALUES (:run, :job, :attempt, 0, 'stdout', :text)"
                    ),
                    {"run": run_id, "job": ids[f"job{i % 2}"], "attempt": 1 + i // 4, "text": f"old {i}"},
                )
        upgrade(engine)  # as a command does: on SQLite, later migrations recreate tables
        assert current_revision(engine) == HEAD_REVISION
        with engine.begin() as conn:
            rows = repo.read_logs(conn, run_id)
            assert _texts(rows) == [f"old {i}" for i in range(6)]
            for job_id in ids.values():  # per attempt, the numbers follow the order of writing
                mine = [r for r in rows if r.job_id == job_id]
                for attempt in {r.attempt for r in mine}:
                    numbers = [r.seq for r in mine if r.attempt == attempt]
                    assert numbers == sorted(set(numbers))
            again = rows[0]
            repo.insert_log_lines(conn, [_line(run_id, again.job_id, again.seq, attempt=again.attempt)])
            high = repo_logs.max_log_seq(conn, ids["job0"], 1)
            assert high is not None
            repo.insert_log_lines(conn, [_line(run_id, ids["job0"], high + 1)])
        with engine.connect() as conn:
            assert len(repo.read_logs(conn, run_id)) == 7  # the duplicate was left out
    finally:
        engine.dispose()


ODD_TEXTS = [
    "plain",
    "",
    'quotes " and \\ backslashes \\n (literal)',
    "tab\tbell\x07 escape\x1b[31mred\x1b[0m",
    "nul \x00 inside",
    "emoji 🦀 and é",
    "lone surrogate \udc80 from a bad decode",
    "[1, 2]",
    '{"json": "looking"}',
    "x" * 100_000,
]


def test_odd_text_is_stored_exactly_and_a_batch_keeps_its_order(
    store_engine: Engine, new_run: RunFactory
) -> None:
    """Both databases give back each line as written, ids in the batch's order, a repeat left out."""
    with store_engine.begin() as conn:
        run_id = new_run(conn)
        job_id = repo.create_jobs(conn, run_id, job_rows(1))["job0"]
    batch = [
        _line(
            run_id,
            job_id,
            seq,
            text=text,
            ts=1_733_245_678.123456 + seq,
            stream="stderr" if seq % 2 else "stdout",
        )
        for seq, text in zip(range(9, -1, -1), ODD_TEXTS, strict=True)  # seq descending: ids follow the batch
    ]
    with store_engine.begin() as conn:
        repo.insert_log_lines(conn, [*batch, batch[0]])
    with store_engine.connect() as conn:
        stored = repo.read_logs(conn, run_id)
    assert [row.text for row in stored] == ODD_TEXTS
    assert [(row.seq, row.ts, row.stream) for row in stored] == [
        (r["seq"], r["ts"], r["stream"]) for r in batch
    ]
