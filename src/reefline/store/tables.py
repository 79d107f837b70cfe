"""The database schema (SQLAlchemy Core). Alembic migrations in ``migrations/`` must match it.

Times are unix seconds (float) so SQLite and PostgreSQL compare them the same way.
"""

from __future__ import annotations

from typing import Any

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
    Text,
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

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", SafeString(100), nullable=False, unique=True),
    Column("display_name", SafeString(200)),
    Column("password_hash", String(200)),  # argon2; None: the user signs in with tokens only
    Column("is_admin", Boolean, nullable=False, default=False),  # site admin: every team, every route
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", Float, nullable=False),
)

teams = Table(
    "teams",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", SafeString(100), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
)

roles = Table(
    "roles",
    metadata,
    Column("id", Integer, primary_key=True),
    # None: a built-in role (owner, maintainer, developer, viewer), shared by every team.
    Column("team_id", Integer, ForeignKey("teams.id", ondelete="CASCADE")),
    Column("name", SafeString(100), nullable=False),
    Column("permissions", JSON, nullable=False),  # sorted list of permission names, e.g. "pipeline.run"
    Column("created_at", Float, nullable=False),
    UniqueConstraint("team_id", "name"),
)

memberships = Table(
    "memberships",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("team_id", Integer, ForeignKey("teams.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("role_id", Integer, ForeignKey("roles.id", ondelete="RESTRICT"), nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("team_id", "user_id"),
    Index("ix_memberships_user_id", "user_id"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", SafeString(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 of the secret part
    Column("prefix", String(16), nullable=False),  # shown in listings to tell tokens apart
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float),
    Column("last_used_at", Float),
    Column("revoked_at", Float),
    Index("ix_api_tokens_user_id", "user_id"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 of the cookie value
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("remote", String(100)),
    Index("ix_sessions_user_id", "user_id"),
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", SafeString(100), nullable=False),
    Column("remote", String(100)),
    Column("at", Float, nullable=False),
    Index("ix_login_failures_username", "username", "at"),
)

boards = Table(
    "boards",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("team_id", Integer, ForeignKey("teams.id", ondelete="CASCADE"), nullable=False),
    Column("name", SafeString(100), nullable=False),
    Column("description", SafeText),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("team_id", "name"),
)

pipelines = Table(
    "pipelines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", SafeString(200), nullable=False),
    # Where the pipeline lives: its spec file on a laptop, "team:<id>" on a server (so a name is
    # unique per team).
    Column("source_path", SafeText, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("team_id", Integer, ForeignKey("teams.id", ondelete="CASCADE")),  # None on a laptop
    Column("board_id", Integer, ForeignKey("boards.id", ondelete="SET NULL")),
    Column("current_revision", Integer),  # revisions.number made current by a push or a rollback
    UniqueConstraint("name", "source_path"),
    Index("ix_pipelines_team_id", "team_id"),
    Index("ix_pipelines_board_id", "board_id"),
)

revisions = Table(
    "revisions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("pipeline_id", Integer, ForeignKey("pipelines.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),  # 1, 2, 3 … per pipeline
    Column("spec_text", SafeText, nullable=False),
    Column("spec_hash", String(64), nullable=False),  # sha256 of spec_text
    Column("author_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),  # None: a laptop run
    Column("message", SafeText),
    Column("created_at", Float, nullable=False),
    Column("source_sha256", String(64)),  # the project's source tarball, in the artifact store
    Column("source_size", BigInteger),
    Column("rollback_of", Integer),  # the number of the revision this one restores
    UniqueConstraint("pipeline_id", "number"),
)

secrets = Table(
    "secrets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("team_id", Integer, ForeignKey("teams.id", ondelete="CASCADE"), nullable=False),
    Column("board_id", Integer, ForeignKey("boards.id", ondelete="CASCADE")),  # None: the whole team
    Column("pipeline_id", Integer, ForeignKey("pipelines.id", ondelete="CASCADE")),  # None: wider
    Column("name", String(200), nullable=False),
    Column("ciphertext", Text, nullable=False),  # Fernet token; the clear value is never stored
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("updated_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Index("ix_secrets_scope", "team_id", "board_id", "pipeline_id", "name"),
)

team_policies = Table(
    "team_policies",
    metadata,
    # No row: the team has the server's default policy (no image, only the sandboxed local executor).
    Column("team_id", Integer, ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("images", JSON, nullable=False),  # image names and globs, e.g. ["registry.example/team/*"]
    Column("executors", JSON, nullable=False),  # executor names, e.g. ["local", "docker"]
    Column("updated_at", Float, nullable=False),
    Column("updated_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", Float, nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("team_id", Integer, ForeignKey("teams.id", ondelete="SET NULL")),
    Column("action", String(100), nullable=False),  # e.g. "pipeline.push", "secret.write"
    Column("target", SafeText, nullable=False),  # what it acted on, e.g. "pipeline research/iris"
    Column("details", JSON, nullable=False),  # never a secret's value
    Column("remote", String(100)),  # client address
    Index("ix_audit_log_team_id", "team_id", "id"),
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
    Column("revision_id", Integer, ForeignKey("revisions.id", ondelete="SET NULL")),
    Column("triggered_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),  # None: a laptop
    # The engine host that claimed the run, until when (engine/lease.py); None: a laptop run, owned
    # by its process (owner_pid) instead.
    Column("lease_owner", String(200)),
    Column("lease_expires_at", Float),
    # Provenance: the workspace's git commit, branch and dirty flag when the run started (None: not
    # a git repository, or git could not tell).
    Column("git_commit", String(64)),
    Column("git_branch", SafeString(255)),
    Column("git_dirty", Boolean),
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
    Column("definition_hash", String(64)),  # the step's definition (the cache key's definition part)
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
    # The code the attempt ran (engine/fingerprint.py): {"script_sha256": …} or {"entry": "pkg.mod:fn",
    # "modules": {"pkg/mod.py": sha256, …}}, with "image_id" for a container step when known.
    Column("code", JSON),
    UniqueConstraint("job_id", "number"),
)

# No foreign keys (migration 0010): checked per row they were 40% of the database's work on a 10 MB
# log. Only the engine writes lines, for its own jobs; deleting runs or jobs must delete their lines.
log_lines = Table(
    "log_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, nullable=False),
    Column("job_id", Integer, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("ts", Float, nullable=False),
    Column("stream", String(8), nullable=False),  # stdout | stderr | system
    Column("text", SafeText, nullable=False),
    Column("seq", BigInteger, nullable=False),  # 0, 1, 2, … within the attempt (see engine/logcap.py)
    Index("ix_log_lines_run", "run_id", "id"),
    Index("ix_log_lines_job", "job_id", "id"),
    Index("ux_log_lines_seq", "job_id", "attempt", "seq", unique=True),
)


def artifact_columns() -> list[Column[Any]]:
    """The columns ``inputs`` and ``outputs`` share: which job, and the named, typed, hashed path.

    Fresh objects on every call (a Column belongs to one table)."""
    return [
        Column("id", Integer, primary_key=True),
        Column("job_id", Integer, ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
        Column("name", SafeString(200), nullable=False),
        Column("path", SafeText, nullable=False),
        Column("type", String(200), nullable=False),
        Column("sha256", String(64), nullable=False),
        Column("size", BigInteger, nullable=False),
    ]


outputs = Table(
    "outputs",
    metadata,
    *artifact_columns(),
    # The attempt that made the bytes: a cached job's rows carry the number of the attempt of the job
    # it was cached from (jobs.cached_from_job_id), which really ran.
    Column("attempt", Integer, nullable=False),
    Column("uri", SafeText),  # where the artifact store keeps it (None: it could not be kept)
    Column("recorded_at", Float, nullable=False),
    UniqueConstraint("job_id", "attempt", "name", "path"),
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
    *artifact_columns(),
    Column("producer_job_id", Integer, ForeignKey("jobs.id", ondelete="SET NULL")),
    Index("ix_inputs_job", "job_id"),
    # Lineage: who consumed what a job produced; also serves ON DELETE SET NULL.
    Index("ix_inputs_producer_job_id", "producer_job_id"),
    Index("ix_inputs_sha256", "sha256"),  # lineage: what read these bytes (trace --forward)
)

# The Python SDK (mltrace's shape): a component type, its runs, and what each run read and wrote.
# A component run needs no pipeline and no spec text; inside a Reefline job it names that job's attempt.
components = Table(
    "components",
    metadata,
    Column("id", Integer, primary_key=True),
    # "" on a laptop, "team:<id>" on a server: a name is unique per scope (NULL team ids never clash).
    Column("scope", String(50), nullable=False),
    Column("team_id", Integer, ForeignKey("teams.id", ondelete="CASCADE")),
    Column("name", SafeString(200), nullable=False),
    Column("kind", SafeString(100), nullable=False),  # a user's own type, e.g. "featurizer"
    Column("owner", SafeString(200)),
    Column("description", SafeText),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("scope", "name"),
    Index("ix_components_team_id", "team_id"),
)

component_runs = Table(
    "component_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("component_id", Integer, ForeignKey("components.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(16), nullable=False),  # success | failed
    Column("exception", SafeText),  # "ValueError: …" and its traceback, when failed
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float, nullable=False),
    Column("git_commit", String(64)),
    Column("git_branch", SafeString(255)),
    Column("git_dirty", Boolean),
    Column("host", SafeString(255)),
    Column("pid", Integer),
    Column("workspace", SafeText),
    # The job attempt it ran inside (jobs.id + attempts.number): the engine writes attempt rows in
    # batches, so the attempt's own row may not exist yet when the component records.
    Column("job_id", Integer, ForeignKey("jobs.id", ondelete="SET NULL")),
    Column("attempt", Integer),
    Column("recorded_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),  # None: a laptop
    Index("ix_component_runs_component_id", "component_id", "id"),
    Index("ix_component_runs_job_id", "job_id"),
)

component_artifacts = Table(
    "component_artifacts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("component_runs.id", ondelete="CASCADE"), nullable=False),
    Column("direction", String(3), nullable=False),  # in | out
    Column("path", SafeText),  # None: an output id logged without a value
    Column("kind", String(8), nullable=False),  # file | dir | label
    Column("sha256", String(64)),
    Column("size", BigInteger),
    Column("label", SafeString(200)),  # an output id, e.g. "prediction-8812"
    # lineage: who made (out) or read (in) these bytes, oldest first
    Index("ix_component_artifacts_sha256", "sha256", "direction", "run_id"),
    Index("ix_component_artifacts_label", "label"),
    Index("ix_component_artifacts_run_id", "run_id"),
)

engine_leases = Table(
    "engine_leases",
    metadata,
    Column("name", String(100), primary_key=True),  # e.g. "leader": one engine host per database
    Column("owner", String(200), nullable=False),
    Column("expires_at", Float, nullable=False),
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
