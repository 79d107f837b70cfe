"""A database at schema 0009 upgrades to 0010 (log lines without foreign keys) keeping every line,
on SQLite and PostgreSQL; a line written twice is still stored once."""

from __future__ import annotations

from sqlalchemy import Engine, inspect

from reefline.store import repo_logs
from reefline.store.db import HEAD_REVISION, current_revision, upgrade
from tests.migrating import database_at

ROWS = [
    "INSERT INTO pipelines (id, name, source_path, created_at) VALUES (1, 'p', '/p/reefline.yaml', 1)",
    "INSERT INTO runs (id, pipeline_id, state, trigger, spec_text, spec_path, spec_hash, params, workspace,"
    " options, created_at, cancel_requested) VALUES (1, 1, 'success', 'cli', 'name: p', '/p/r.yaml', 'h',"
    " '{}', '/p', '{}', 10, false)",
    "INSERT INTO jobs (id, run_id, name, job, stage, position, matrix, needs, state, attempts, allow_failure)"
    " VALUES (1, 1, 'a', 'a', 's', 0, '{}', '[]', 'success', 1, false)",
]
TEXTS = ["first", "", "nul \x00 and a lone \udc80", "\ue000 starts with the mark", "🦀 é"]


def _at_0009(store_url: str) -> Engine:
    engine = database_at(store_url, "0009", ROWS)
    with engine.begin() as conn:
        repo_logs.insert_log_lines(conn, _lines(range(len(TEXTS))))
    return engine


def _lines(seqs: range) -> list[dict[str, object]]:
    return [
        {"run_id": 1, "job_id": 1, "attempt": 1, "ts": 11.5, "stream": "stdout", "text": TEXTS[s], "seq": s}
        for s in seqs
    ]


def test_a_0009_database_upgrades_keeping_its_log_lines(store_url: str) -> None:
    engine = _at_0009(store_url)
    try:
        with engine.connect() as conn:
            assert len(inspect(conn).get_foreign_keys("log_lines")) == 2
        upgrade(engine)
        assert current_revision(engine) == HEAD_REVISION == "0010"
        with engine.begin() as conn:
            assert inspect(conn).get_foreign_keys("log_lines") == []
            repo_logs.insert_log_lines(conn, _lines(range(2, len(TEXTS))))  # a batch written again
        with engine.connect() as conn:
            stored = repo_logs.read_job_logs(conn, 1)
        assert [line.text for line in stored] == TEXTS
        assert [line.seq for line in stored] == list(range(len(TEXTS)))
    finally:
        engine.dispose()
