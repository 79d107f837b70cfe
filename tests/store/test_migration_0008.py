"""A database at schema 0007 with runs in it upgrades to 0008 (components) without losing a row, on
SQLite and PostgreSQL; its old jobs can then be linked to component runs and traced into them."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from reefline.lineage import trace
from reefline.services import components
from reefline.store.component_records import ArtifactRecord, ComponentSpec, RunRecord
from reefline.store.db import HEAD_REVISION, alembic_config, current_revision, open_database, upgrade
from tests.migrating import database_at

SHA = "c" * 64
ROWS = [
    "INSERT INTO pipelines (id, name, source_path, created_at) VALUES (1, 'iris', '/p/reefline.yaml', 1)",
    "INSERT INTO runs (id, pipeline_id, state, trigger, spec_text, spec_path, spec_hash, params, workspace,"
    " options, created_at, cancel_requested) VALUES (1, 1, 'success', 'cli', 'name: iris', '/p/r.yaml',"
    " 'h', '{}', '/p', '{}', 10, false)",
    "INSERT INTO jobs (id, run_id, name, job, stage, position, matrix, needs, state, attempts, allow_failure,"
    " started_at, finished_at) VALUES (1, 1, 'prepare', 'prepare', 's', 0, '{}', '[]', 'success', 1, false,"
    " 11, 13)",
    f"INSERT INTO outputs (job_id, name, path, type, sha256, size) VALUES (1, 'features', 'f.csv', 'file',"
    f" '{SHA}', 3)",
]


def test_a_0007_database_upgrades_and_its_jobs_link_to_component_runs(store_url: str, tmp_path: Path) -> None:
    engine = database_at(store_url, "0007", ROWS)
    try:
        upgrade(engine)
        assert current_revision(engine) == HEAD_REVISION
        with engine.begin() as conn:
            counts = [
                conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in ("runs", "jobs", "outputs")
            ]
            indexes = {ix["name"] for ix in inspect(conn).get_indexes("component_artifacts")}
            record = RunRecord(
                status="success",
                started_at=11.5,
                finished_at=12.0,
                workspace="/p",
                job_id=1,
                attempt=1,
                artifacts=(ArtifactRecord("out", "f.csv", "file", SHA, 3),),
            )
            made = components.record_run(conn, ComponentSpec("featurize"), record, pipeline_run_id=1)
        with engine.connect() as conn:
            found = trace.backtrace(conn, trace.resolve(conn, tmp_path, SHA[:8]))
        assert counts == [1, 1, 1]
        assert {"ix_component_artifacts_sha256", "ix_component_artifacts_label"} <= indexes
        [frame] = found.frames  # the component ran inside job 1 and finished first: it made the bytes
        assert (frame.kind, frame.component_run_id, frame.job_id, frame.in_job) == (
            "component",
            made,
            1,
            "prepare",
        )
    finally:
        engine.dispose()


def test_downgrading_0008_drops_only_the_component_tables(store_url: str) -> None:
    from alembic import command

    engine = open_database(store_url)
    try:
        with engine.begin() as conn:
            config = alembic_config()
            config.attributes["connection"] = conn
            command.downgrade(config, "0007")
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
        assert not tables & {"components", "component_runs", "component_artifacts"}
        assert {"runs", "jobs", "team_policies"} <= tables
    finally:
        engine.dispose()
