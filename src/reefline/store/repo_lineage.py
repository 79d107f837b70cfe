"""Lineage queries: producers of bytes across runs and pipelines, consumers, and run provenance.

Every function takes an open connection and never commits: callers own the transaction. Each query
is one indexed lookup (``outputs.sha256``, ``inputs.sha256``, ``inputs.job_id``, primary keys).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, bindparam, literal_column, select, union_all

from reefline.store.repo_artifacts import latest_attempt
from reefline.store.row_maker import columns_in_order
from reefline.store.rows import ArtifactLinkRow, InputRow, OutputRow
from reefline.store.tables import attempts, inputs, jobs, outputs, pipelines, runs, users

_SUCCESSFUL = ("success", "cached")
_MAX_CACHE_HOPS = 16
_MAX_CANDIDATES = 10


@dataclass(frozen=True, slots=True)
class JobInfo:
    """A job with what a trace frame shows of its run and pipeline."""

    job_id: int
    name: str
    job: str
    state: str
    matrix: dict[str, Any]
    definition_hash: str | None
    cached_from_job_id: int | None
    started_at: float | None
    finished_at: float | None
    run_id: int
    run_params: dict[str, Any]
    git_commit: str | None
    git_branch: str | None
    git_dirty: bool | None
    author: str | None  # the username of the run's trigger; None: a laptop run
    pipeline_id: int
    pipeline: str
    code: dict[str, Any] | None = None  # the code fingerprint of the job's last attempt
    # frame_info only: the job's definition in the newest later run of the pipeline, and that run
    later_definition: str | None = None
    later_run_id: int | None = None


_JOB_INFO = (
    select(
        jobs.c.id.label("job_id"),
        jobs.c.name,
        jobs.c.job,
        jobs.c.state,
        jobs.c.matrix,
        jobs.c.definition_hash,
        jobs.c.cached_from_job_id,
        jobs.c.started_at,
        jobs.c.finished_at,
        runs.c.id.label("run_id"),
        runs.c.params.label("run_params"),
        runs.c.git_commit,
        runs.c.git_branch,
        runs.c.git_dirty,
        users.c.username.label("author"),
        pipelines.c.id.label("pipeline_id"),
        pipelines.c.name.label("pipeline"),
        attempts.c.code,
    )
    .select_from(
        jobs.join(runs, jobs.c.run_id == runs.c.id)
        .join(pipelines, runs.c.pipeline_id == pipelines.c.id)
        .outerjoin(users, runs.c.triggered_by == users.c.id)
        # the last attempt (uq_attempts_job_id: one primary-key-like lookup)
        .outerjoin(attempts, (attempts.c.job_id == jobs.c.id) & (attempts.c.number == jobs.c.attempts))
    )
    .where(jobs.c.id == bindparam("job_id"))
)
# The earliest successful job that wrote these bytes.
_FIRST_PRODUCER = (
    select(outputs.c.job_id, jobs.c.state, jobs.c.cached_from_job_id)
    .join(jobs, outputs.c.job_id == jobs.c.id)
    .where(outputs.c.sha256 == bindparam("sha256"), jobs.c.state.in_(_SUCCESSFUL))
    .order_by(outputs.c.job_id)
    .limit(1)
)
_FIRST_PRODUCER_BEFORE = (
    select(outputs.c.job_id, jobs.c.state, jobs.c.cached_from_job_id)
    .join(jobs, outputs.c.job_id == jobs.c.id)
    .where(
        outputs.c.sha256 == bindparam("sha256"),
        outputs.c.job_id < bindparam("before"),
        jobs.c.state.in_(_SUCCESSFUL),
    )
    .order_by(outputs.c.job_id)
    .limit(1)
)
_CACHE_LINK = select(jobs.c.state, jobs.c.cached_from_job_id).where(jobs.c.id == bindparam("job_id"))


def _artifacts_of_job(table: Any, side: int) -> Any:
    return select(literal_column(str(side)).label("side"), *columns_in_order(ArtifactLinkRow, table.c)).where(
        table.c.job_id == bindparam("job_id")
    )


# A job's outputs (side 0) and inputs (side 1) in one round trip. Outputs come first so that the
# union's column types, taken from its first select, are the outputs' own (uri, attempt, recorded_at).
_OUTPUTS, _INPUTS = 0, 1
_JOB_ARTIFACTS = union_all(_artifacts_of_job(outputs, _OUTPUTS), _artifacts_of_job(inputs, _INPUTS)).order_by(
    "side", "id"
)
_CONSUMERS = (
    select(inputs.c.job_id)
    .join(jobs, inputs.c.job_id == jobs.c.id)
    .where(inputs.c.sha256 == bindparam("sha256"), jobs.c.state.in_(_SUCCESSFUL))
    .distinct()
    .order_by(inputs.c.job_id)
)


def _later(column: Any) -> Any:
    """A column of the job's namesake in the newest later run of its pipeline that has a definition."""
    later_jobs, later_runs = jobs.alias("later_jobs"), runs.alias("later_runs")
    return (
        select(column(later_jobs, later_runs))
        .select_from(later_jobs.join(later_runs, later_jobs.c.run_id == later_runs.c.id))
        .where(
            later_runs.c.pipeline_id == runs.c.pipeline_id,
            later_jobs.c.name == jobs.c.name,
            later_runs.c.id > runs.c.id,
            later_jobs.c.definition_hash.is_not(None),
        )
        # Newest first along the pipeline's runs (SQLite: ix_runs_pipeline_id holds the id), so
        # the first later run with that job ends the search.
        .order_by(later_runs.c.id.desc())
        .limit(1)
        .correlate(jobs, runs)
        .scalar_subquery()
    )


# A frame's job: its info and, in the same round trip, whether a later run defines it differently.
_FRAME_INFO = _JOB_INFO.add_columns(
    _later(lambda j, r: j.c.definition_hash).label("later_definition"),
    _later(lambda j, r: r.c.id).label("later_run_id"),
)


def set_run_provenance(
    conn: Connection, run_id: int, *, commit: str | None, branch: str | None, dirty: bool | None
) -> None:
    """Record the git state of the workspace a run runs in."""
    conn.execute(
        runs.update().where(runs.c.id == run_id).values(git_commit=commit, git_branch=branch, git_dirty=dirty)
    )


def job_info(conn: Connection, job_id: int) -> JobInfo | None:
    row = conn.execute(_JOB_INFO, {"job_id": job_id}).first()
    return None if row is None else JobInfo(**row._mapping)


def first_producer(conn: Connection, sha256: str, *, before_job_id: int | None = None) -> int | None:
    """The id of the earliest successful job that output ``sha256`` (before ``before_job_id``), then
    followed along ``cached_from_job_id`` to the job that really made the bytes; None if none did."""
    if before_job_id is None:
        found = conn.execute(_FIRST_PRODUCER, {"sha256": sha256}).first()
    else:
        found = conn.execute(_FIRST_PRODUCER_BEFORE, {"sha256": sha256, "before": before_job_id}).first()
    if found is None:
        return None
    return _follow(conn, int(found.job_id), found.state, found.cached_from_job_id)


def original_job(conn: Connection, job_id: int) -> int:
    """The job a cached job's outputs come from (itself if it ran, or if the chain is broken)."""
    row = conn.execute(_CACHE_LINK, {"job_id": job_id}).first()
    return job_id if row is None else _follow(conn, job_id, row.state, row.cached_from_job_id)


def _follow(conn: Connection, job_id: int, state: str, cached_from: int | None) -> int:
    """``original_job`` from a job whose state and cache link are already read."""
    current = job_id
    for _ in range(_MAX_CACHE_HOPS):
        if state != "cached" or cached_from is None:
            return current
        row = conn.execute(_CACHE_LINK, {"job_id": cached_from}).first()
        if row is None:
            return current
        current, state, cached_from = int(cached_from), row.state, row.cached_from_job_id
    return current


def job_artifacts(conn: Connection, job_id: int) -> tuple[list[InputRow], list[OutputRow]]:
    """The job's inputs, and the outputs of its newest attempt that recorded any, each in id order."""
    read: list[InputRow] = []
    written: list[OutputRow] = []
    for side, *fields in conn.execute(_JOB_ARTIFACTS, {"job_id": job_id}):
        (written if side == _OUTPUTS else read).append(ArtifactLinkRow(*fields))
    return read, latest_attempt(written)


def consumers(conn: Connection, sha256: str) -> list[int]:
    """The successful jobs that read ``sha256``, oldest first."""
    return [int(job_id) for job_id in conn.execute(_CONSUMERS, {"sha256": sha256}).scalars()]


def frame_info(conn: Connection, job_id: int) -> JobInfo | None:
    """:func:`job_info` plus ``later_definition`` and ``later_run_id``, for a trace frame's staleness."""
    row = conn.execute(_FRAME_INFO, {"job_id": job_id}).first()
    return None if row is None else JobInfo(**row._mapping)


def shas_with_prefix(conn: Connection, prefix: str) -> list[str]:
    """Up to 10 distinct recorded hashes (outputs, then inputs) starting with ``prefix`` (lower-case hex)."""
    found: set[str] = set()
    for table in (outputs, inputs):
        column = table.c.sha256
        query = (
            select(column)
            .where(and_(column >= prefix, column < prefix + "~"))
            .distinct()
            .order_by(column)
            .limit(_MAX_CANDIDATES)
        )
        found.update(str(sha) for sha in conn.execute(query).scalars())
    return sorted(found)[:_MAX_CANDIDATES]


def run_job_outputs(conn: Connection, run_id: int, job_name: str, output: str) -> list[tuple[int, OutputRow]]:
    """The rows of output ``output`` of job ``job_name`` in run ``run_id`` (several paths: several)."""
    query = (
        select(outputs)
        .join(jobs, outputs.c.job_id == jobs.c.id)
        .where(jobs.c.run_id == run_id, jobs.c.name == job_name, outputs.c.name == output)
        .order_by(outputs.c.id)
    )
    by_job: dict[int, list[OutputRow]] = {}
    for row in conn.execute(query):
        by_job.setdefault(int(row.job_id), []).append(OutputRow(**row._mapping))
    return [(job_id, row) for job_id, rows in by_job.items() for row in latest_attempt(rows)]


def run_job_names(conn: Connection, run_id: int) -> list[str]:
    return [str(n) for n in conn.execute(select(jobs.c.name).where(jobs.c.run_id == run_id)).scalars()]


def last_run_id(conn: Connection) -> int | None:
    found = conn.execute(select(runs.c.id).order_by(runs.c.id.desc()).limit(1)).scalar()
    return None if found is None else int(found)
