"""The database schema (SQLAlchemy Core). Alembic migrations in ``migrations/`` must match it.

Times are unix seconds (float) so SQLite and PostgreSQL compare them the same way.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

from reefline.store.safe_text import SafeString, SafeText

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

pipelines = Table(
    "pipelines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", SafeString(200), nullable=False),
    Column("source_path", SafeText, nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("name", "source_path"),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("pipeline_id", Integer, ForeignKey("pipelines.id", ondelete="CASCADE"), nullable=False),
    Column("state", String(16), nullable=False),
    Column("trigger", String(32), nullable=False),  # cli | retry | api | schedule | webhook
    Column("reason", SafeText),  # why it failed, was canceled or interrupted
    Column("spec_text", SafeText, nullable=False),
    Column("spec_path", SafeText, nullable=False),
    Column("spec_hash", String(64), nullable=False),
    Column("params", JSON, nullable=False),
    Column("workspace", SafeText, nullable=False),
    Column("options", JSON, nullable=False),  # only/from/no_cache/parallelism as given
    Column("created_at", Float, nullable=False),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("owner_host", String(255)),
    Column("owner_pid", Integer),
    Column("heartbeat_at", Float),
    Column("cancel_requested", Boolean, nullable=False, default=False),
    # Which process owns the run: "<boot id>:<start time>" of owner_pid, so a reused pid is not
    # taken for the owner (see engine/liveness.py). None where the platform cannot tell.
    Column("owner_token", String(100)),
    Column("last_started_at", Float),  # the latest start (a retry); started_at stays the first one
    Index("ix_runs_state", "state"),
    Index("ix_runs_pipeline_id", "pipeline_id"),  # list_runs(pipeline=...), cascade from pipelines
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("name", SafeString(300), nullable=False),  # step id, e.g. "train[model=tree]"
    Column("job", SafeString(200), nullable=False),  # job key in the spec, e.g. "train"
    Column("stage", SafeString(200), nullable=False),
    Column("position", Integer, nullable=False),  # topological order in the plan
    Column("matrix", JSON, nullable=False),
    Column("needs", JSON, nullable=False),
    Column("state", String(16), nullable=False),
    Column("reason", SafeText),  # why skipped / failed / cached
    Column("cache_key", String(64)),
    Column("cached_from_job_id", Integer, ForeignKey("jobs.id", ondelete="SET NULL")),
    Column("attempts", Integer, nullable=False, default=0),
    Column("exit_code", Integer),
    Column("allow_failure", Boolean, nullable=False, default=False),
    Column("started_at", Float),
    Column("finished_at", Float),
    UniqueConstraint("run_id", "name"),
    Index("ix_jobs_cache_key", "cache_key", "state"),
    # Deleting a job looks up the jobs cached from it (ON DELETE SET NULL): without this index,
    # deleting a run is a full scan of jobs per deleted job.
    Index("ix_jobs_cached_from_job_id", "cached_from_job_id"),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("job_id", Integer, ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("exit_code", Integer),
    Column("error", SafeText),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("cpu_seconds", Float),
    Column("peak_rss_bytes", BigInteger),
    UniqueConstraint("job_id", "number"),
)

log_lines = Table(
    "log_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("job_id", Integer, ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("ts", Float, nullable=False),
    Column("stream", String(8), nullable=False),  # stdout | stderr | system
    Column("text", SafeText, nullable=False),
    Column("seq", BigInteger, nullable=False),  # 0, 1, 2, … within the attempt (see engine/logcap.py)
    Index("ix_log_lines_run", "run_id", "id"),
    Index("ix_log_lines_job", "job_id", "id"),
    Index("ux_log_lines_seq", "job_id", "attempt", "seq", unique=True),
)

outputs = Table(
    "outputs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("job_id", Integer, ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("name", SafeString(200), nullable=False),
    Column("path", SafeText, nullable=False),
    Column("type", String(200), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    UniqueConstraint("job_id", "name", "path"),
    Index("ix_outputs_sha256", "sha256"),
)

metrics = Table(
    "metrics",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("job_id", Integer, ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("key", SafeString(300), nullable=False),  # dotted path into the JSON, e.g. "test.accuracy"
    Column("value", Float, nullable=False),
    UniqueConstraint("job_id", "key"),
    Index("ix_metrics_run_id", "run_id"),  # list_metrics(run_id)
)

inputs = Table(
    "inputs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("job_id", Integer, ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("name", SafeString(200), nullable=False),
    Column("path", SafeText, nullable=False),
    Column("type", String(200), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("producer_job_id", Integer, ForeignKey("jobs.id", ondelete="SET NULL")),
    Index("ix_inputs_job", "job_id"),
    # Lineage: who consumed what a job produced; also serves ON DELETE SET NULL.
    Index("ix_inputs_producer_job_id", "producer_job_id"),
)

state_changes = Table(
    "state_changes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    # None: a change of the run's state; else of this job's.
    Column("job_id", Integer, ForeignKey("jobs.id", ondelete="CASCADE")),
    Column("from_state", String(16)),  # None when the row was created
    Column("to_state", String(16), nullable=False),
    Column("at", Float, nullable=False),
    Column("reason", SafeText),
    Column("attempt", Integer),  # jobs: the attempt number at the change
    Index("ix_state_changes_run", "run_id", "id"),
    Index("ix_state_changes_job_id", "job_id"),  # cascade from jobs
)
