"""A database made by Reefline 0.1 (schema 0001) with runs in it upgrades to the newest schema on
SQLite and PostgreSQL without losing a row, and reads back as before."""

from __future__ import annotations

from sqlalchemy import text

from reefline.services import queries
from reefline.store import repo
from reefline.store.db import HEAD_REVISION, alembic_config, current_revision, open_database, upgrade

ROWS = {
    "pipelines": "INSERT INTO pipelines (id, name, source_path, created_at)"
    " VALUES (1, 'iris', '/p/reefline.yaml', 1)",
    "runs": "INSERT INTO runs (id, pipeline_id, state, trigger, spec_text, spec_path, spec_hash, params,"
    " workspace, options, created_at, started_at, finished_at, cancel_requested) VALUES (1, 1, 'success',"
    " 'cli', 'name: iris', '/p/reefline.yaml', 'h', '{\"seed\": 7}', '/p', '{}', 10, 10, 14, false)",
    "jobs": "INSERT INTO jobs (id, run_id, name, job, stage, position, matrix, needs, state, attempts,"
    " allow_failure, started_at, finished_at, exit_code, cache_key) VALUES (1, 1, 'train[model=tree]',"
    " 'train', 'train', 0, '{\"model\": \"tree\"}', '[]', 'success', 1, false, 11, 13, 0, 'k1')",
    "attempts": "INSERT INTO attempts (id, job_id, number, state, exit_code, started_at, finished_at)"
    " VALUES (1, 1, 1, 'success', 0, 11, 13)",
    "log_lines": "INSERT INTO log_lines (run_id, job_id, attempt, ts, stream, text) VALUES"
    " (1, 1, 1, 11, 'stdout', 'line one'), (1, 1, 1, 12, 'stdout', 'line two')",
    "outputs": "INSERT INTO outputs (job_id, name, path, type, sha256, size) VALUES"
    " (1, 'model', 'out/tree.pkl', 'model/pickle', 'abc', 42)",
    "metrics": "INSERT INTO metrics (run_id, job_id, key, value) VALUES (1, 1, 'accuracy', 0.93)",
}


def test_a_0_1_database_with_runs_upgrades_and_keeps_every_row(store_url: str) -> None:
    from alembic import command

    engine = open_database(store_url, migrate=False)
    try:
        with engine.begin() as conn:
            config = alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, "0001")
            for statement in ROWS.values():
                conn.execute(text(statement))
        upgrade(engine)
        assert current_revision(engine) == HEAD_REVISION
        with engine.connect() as conn:
            counts = {table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() for table in ROWS}
            detail = queries.run_detail(conn, 1)
            lines = [row.text for row in repo.read_logs(conn, 1)]
            hit = repo.find_cache_hit(conn, "k1")
        assert counts == {
            "pipelines": 1,
            "runs": 1,
            "jobs": 1,
            "attempts": 1,
            "log_lines": 2,
            "outputs": 1,
            "metrics": 1,
        }
        assert (detail.run.state, detail.run.params, detail.run.revision_id) == ("success", {"seed": 7}, None)
        [job] = detail.jobs
        assert (job.job.name, job.job.state, [o.path for o in job.outputs]) == (
            "train[model=tree]",
            "success",
            ["out/tree.pkl"],
        )
        assert [(m.key, m.value) for m in detail.metrics] == [("accuracy", 0.93)]
        assert lines == ["line one", "line two"]
        assert hit is not None and hit[0] == 1  # a laptop's earlier results still count for its cache
    finally:
        engine.dispose()
