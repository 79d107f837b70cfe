"""A database at schema 0008 with runs in it upgrades to 0009 (outputs per attempt, code fingerprints)
without losing a row, on SQLite and PostgreSQL; old outputs are backfilled with the attempt that made
them and when they were recorded, and can be traced."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from reefline.lineage import trace
from reefline.store import repo
from reefline.store.db import HEAD_REVISION, alembic_config, current_revision, open_database, upgrade
from tests.migrating import database_at

A, B = "a" * 64, "b" * 64
ROWS = [
    "INSERT INTO pipelines (id, name, source_path, created_at) VALUES (1, 'iris', '/p/reefline.yaml', 1)",
    "INSERT INTO runs (id, pipeline_id, state, trigger, spec_text, spec_path, spec_hash, params, workspace,"
    " options, created_at, cancel_requested) VALUES (1, 1, 'success', 'cli', 'name: iris', '/p/r.yaml',"
    " 'h', '{}', '/p', '{}', 10, false), (2, 1, 'success', 'cli', 'name: iris', '/p/r.yaml', 'h', '{}',"
    " '/p', '{}', 20, false)",
    # train ran twice (a retry) in run 1; run 2 reused it (cached, no attempt of its own); report
    # never recorded when it finished
    "INSERT INTO jobs (id, run_id, name, job, stage, position, matrix, needs, state, attempts, allow_failure,"
    " started_at, finished_at, cached_from_job_id) VALUES"
    " (1, 1, 'train', 'train', 's', 0, '{}', '[]', 'success', 2, false, 11, 13, NULL),"
    " (2, 2, 'train', 'train', 's', 0, '{}', '[]', 'cached', 0, false, 21, 22, 1),"
    " (3, 2, 'report', 'report', 's', 1, '{}', '[]', 'success', 1, false, 23, NULL, NULL)",
    "INSERT INTO attempts (job_id, number, state, started_at, finished_at) VALUES (1, 1, 'failed', 11, 12),"
    " (1, 2, 'success', 12, 13), (3, 1, 'success', 23, NULL)",
    f"INSERT INTO outputs (job_id, name, path, type, sha256, size) VALUES (1, 'model', 'out/m.pkl', 'file',"
    f" '{A}', 3), (2, 'model', 'out/m.pkl', 'file', '{A}', 3), (3, 'report', 'out/r.md', 'file', '{B}', 4)",
    f"INSERT INTO inputs (job_id, name, path, type, sha256, size) VALUES (3, 'model', 'out/m.pkl', 'file',"
    f" '{A}', 3)",
]


def _at_0008(store_url: str) -> Engine:
    return database_at(store_url, "0008", ROWS)


def test_a_0008_database_upgrades_keeps_its_rows_and_backfills_them(store_url: str, tmp_path: Path) -> None:
    engine = _at_0008(store_url)
    try:
        upgrade(engine)
        assert current_revision(engine) == HEAD_REVISION
        with engine.connect() as conn:
            counts = [
                conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                for t in ("runs", "jobs", "attempts", "outputs", "inputs")
            ]
            rows = conn.execute(
                text("SELECT job_id, attempt, uri, recorded_at FROM outputs ORDER BY job_id")
            ).all()
            codes = conn.execute(text("SELECT code FROM attempts")).scalars().all()
            found = trace.backtrace(conn, trace.resolve(conn, tmp_path, B[:8]))
        assert counts == [2, 3, 3, 3, 1]
        assert [tuple(r) for r in rows] == [
            (1, 2, None, 13.0),  # the job's last attempt, when it finished
            (2, 2, None, 22.0),  # cached: the attempt of the job it reused
            (3, 1, None, 23.0),  # never finished: when it started
        ]
        assert codes == [None, None, None]
        assert [(f.job, f.run_id, f.code) for f in found.frames] == [("report", 2, None), ("train", 1, None)]
        assert found.frames[0].outputs[0].uri is None

        # a later attempt of an old job records its own rows beside the old ones
        with engine.begin() as conn:
            repo.insert_outputs(conn, 1, [{"name": "model", "path": "out/m.pkl", "type": "file", "sha256": B,
                                           "size": 4, "attempt": 3, "recorded_at": 30.0}])  # fmt: skip
            assert [(o.attempt, o.sha256) for o in repo.list_job_outputs(conn, 1)] == [(3, B)]
    finally:
        engine.dispose()


def test_one_attempt_records_an_output_path_once(store_url: str) -> None:
    engine = open_database(store_url)
    try:
        statement = text(
            "INSERT INTO outputs (job_id, attempt, name, path, type, sha256, size, recorded_at)"
            f" VALUES (1, 1, 'model', 'out/m.pkl', 'file', '{A}', 3, 1)"
        )
        with engine.begin() as conn:
            for row in ROWS[:3]:
                conn.execute(text(row))
            conn.execute(statement)
        try:
            with engine.begin() as conn:
                conn.execute(statement)
        except IntegrityError:
            pass
        else:
            raise AssertionError("a second row of the same attempt, name and path was accepted")
    finally:
        engine.dispose()


def test_downgrading_0009_keeps_the_newest_attempts_rows(store_url: str) -> None:
    from alembic import command

    engine = _at_0008(store_url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            repo.insert_outputs(conn, 1, [{"name": "model", "path": "out/m.pkl", "type": "file", "sha256": B,
                                           "size": 4, "attempt": 3}])  # fmt: skip
            config = alembic_config()
            config.attributes["connection"] = conn
            command.downgrade(config, "0008")
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT job_id, sha256 FROM outputs ORDER BY job_id")).all()
        assert [tuple(r) for r in rows] == [(1, B), (2, A), (3, B)]
    finally:
        engine.dispose()
