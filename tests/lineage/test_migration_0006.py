"""A database at schema 0005 with runs in it upgrades to 0006 without losing a row, and old history
can be traced (no provenance, no definition hash: never called stale)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from reefline.lineage import trace
from reefline.store.db import HEAD_REVISION, current_revision, upgrade
from tests.migrating import database_at

ROWS = [
    "INSERT INTO pipelines (id, name, source_path, created_at) VALUES (1, 'iris', '/p/reefline.yaml', 1)",
    "INSERT INTO runs (id, pipeline_id, state, trigger, spec_text, spec_path, spec_hash, params, workspace,"
    " options, created_at, cancel_requested) VALUES (1, 1, 'success', 'cli', 'name: iris', '/p/r.yaml',"
    " 'h', '{}', '/p', '{}', 10, false), (2, 1, 'success', 'cli', 'name: iris', '/p/r.yaml', 'h', '{}',"
    " '/p', '{}', 20, false)",
    "INSERT INTO jobs (id, run_id, name, job, stage, position, matrix, needs, state, attempts, allow_failure,"
    " finished_at) VALUES (1, 1, 'train', 'train', 's', 0, '{}', '[]', 'success', 1, false, 13),"
    " (2, 2, 'evaluate', 'evaluate', 's', 0, '{}', '[]', 'success', 1, false, 23)",
    "INSERT INTO outputs (job_id, name, path, type, sha256, size) VALUES (1, 'model', 'out/m.pkl', 'file',"
    f" '{'a' * 64}', 3), (2, 'metrics', 'out/m.json', 'file', '{'b' * 64}', 4)",
    "INSERT INTO inputs (job_id, name, path, type, sha256, size) VALUES (2, 'model', 'out/m.pkl', 'file',"
    f" '{'a' * 64}', 3)",
]


def test_a_0005_database_upgrades_keeps_its_rows_and_traces(store_url: str, tmp_path: Path) -> None:
    engine = database_at(store_url, "0005", ROWS)
    try:
        upgrade(engine)
        assert current_revision(engine) == HEAD_REVISION
        with engine.connect() as conn:
            counts = [
                conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                for t in ("runs", "jobs", "outputs", "inputs")
            ]
            provenance = conn.execute(text("SELECT git_commit, git_branch, git_dirty FROM runs")).all()
            definitions = conn.execute(text("SELECT definition_hash FROM jobs")).scalars().all()
            indexes = {ix["name"] for ix in inspect(conn).get_indexes("inputs")}
            found = trace.backtrace(conn, trace.resolve(conn, tmp_path, "b" * 8))
        assert counts == [2, 2, 2, 1]
        assert provenance == [(None, None, None), (None, None, None)]
        assert definitions == [None, None]
        assert "ix_inputs_sha256" in indexes
        assert [(f.job, f.run_id, f.commit, f.stale) for f in found.frames] == [
            ("evaluate", 2, None, []),
            ("train", 1, None, []),
        ]
    finally:
        engine.dispose()
