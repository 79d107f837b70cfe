"""What jobs read and wrote (inputs, outputs, metrics) and the cache lookup built on outputs.

Every function takes an open connection and never commits: callers own the transaction.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, bindparam, select

from reefline.store.row_maker import columns_in_order, row_maker
from reefline.store.rows import ArtifactLinkRow, InputRow, MetricRow, OutputRow
from reefline.store.tables import inputs, jobs, metrics, outputs, pipelines, runs

# A cached job points at the job it was cached from; that one may itself be cached (e.g. its
# original was recorded before the cache existed), so follow a few links, never loop forever.
_MAX_CACHE_HOPS = 16
_CACHE_CANDIDATES = 5

_DELETE_OUTPUT = outputs.delete().where(
    outputs.c.job_id == bindparam("b_job_id"),
    outputs.c.attempt == bindparam("b_attempt"),
    outputs.c.name == bindparam("b_name"),
    outputs.c.path == bindparam("b_path"),
)
_INSERT_OUTPUTS = outputs.insert()
_INSERT_INPUTS = inputs.insert()
_DELETE_METRIC = metrics.delete().where(
    metrics.c.job_id == bindparam("b_job_id"), metrics.c.key == bindparam("b_key")
)
_INSERT_METRICS = metrics.insert()
_JOB_OUTPUTS = select(outputs).where(outputs.c.job_id == bindparam("job_id")).order_by(outputs.c.id)
# A run's outputs and metrics (the run page): built once, rows made positionally (see row_maker).
_RUN_OUTPUTS = (
    select(*columns_in_order(OutputRow, outputs.c))
    .join(jobs, outputs.c.job_id == jobs.c.id)
    .where(jobs.c.run_id == bindparam("run_id"))
    .order_by(outputs.c.job_id, outputs.c.id)
)
_output_row = row_maker(OutputRow, _RUN_OUTPUTS)
_RUN_METRICS = (
    select(metrics).where(metrics.c.run_id == bindparam("run_id")).order_by(metrics.c.job_id, metrics.c.id)
)
_metric_row = row_maker(MetricRow, _RUN_METRICS)
_CACHE_CANDIDATES_QUERY = (
    select(jobs.c.id, jobs.c.state, jobs.c.cached_from_job_id)
    .select_from(
        jobs.join(runs, jobs.c.run_id == runs.c.id).join(pipelines, runs.c.pipeline_id == pipelines.c.id)
    )
    .where(
        jobs.c.cache_key == bindparam("cache_key"),
        jobs.c.state.in_(("success", "cached")),
        # A cache hit never crosses teams: a server run reuses its own team's results only, a
        # laptop run (no team) only laptop results.
        pipelines.c.team_id.is_not_distinct_from(bindparam("team_id")),
    )
    .order_by(jobs.c.id.desc())
    .limit(_CACHE_CANDIDATES)
)
_CACHE_LINK = select(jobs.c.state, jobs.c.cached_from_job_id).where(jobs.c.id == bindparam("job_id"))


def insert_outputs(conn: Connection, job_id: int, rows: list[dict[str, Any]]) -> None:
    """Record a job's outputs: name, path, type, sha256, size, and the ``attempt`` that made them
    (default 1), their artifact ``uri`` (default None) and ``recorded_at`` (default now).

    Each attempt keeps its own rows; recording an (attempt, name, path) again replaces that row (a
    flush retried after its commit was lost)."""
    if not rows:
        return
    now = time.time()
    full = [{"attempt": 1, "uri": None, "recorded_at": now, **row, "job_id": job_id} for row in rows]
    conn.execute(
        _DELETE_OUTPUT,
        [
            {"b_job_id": job_id, "b_attempt": row["attempt"], "b_name": row["name"], "b_path": row["path"]}
            for row in full
        ],
    )
    conn.execute(_INSERT_OUTPUTS, full)


def latest_attempt(rows: Iterable[ArtifactLinkRow]) -> list[ArtifactLinkRow]:
    """The rows of the newest attempt that recorded outputs, in the given order (one job's rows)."""
    listed = list(rows)
    newest = max((row.attempt or 0 for row in listed), default=0)
    return [row for row in listed if (row.attempt or 0) == newest]


def insert_inputs(conn: Connection, job_id: int, rows: list[dict[str, Any]]) -> None:
    """Record a job's inputs (name, path, type, sha256, size, optional producer_job_id)."""
    if not rows:
        return
    conn.execute(_INSERT_INPUTS, [{"producer_job_id": None, **row, "job_id": job_id} for row in rows])


def insert_metrics(conn: Connection, run_id: int, job_id: int, values: dict[str, float]) -> None:
    """Record a job's metrics; a key recorded again for the same job replaces the old value."""
    if not values:
        return
    conn.execute(_DELETE_METRIC, [{"b_job_id": job_id, "b_key": key} for key in values])
    conn.execute(
        _INSERT_METRICS,
        [{"run_id": run_id, "job_id": job_id, "key": key, "value": value} for key, value in values.items()],
    )


def list_outputs(conn: Connection, run_id: int) -> dict[int, list[OutputRow]]:
    """The outputs of every job of a run that has any (its newest attempt's), by job id."""
    found: dict[int, list[OutputRow]] = {}
    for row in conn.execute(_RUN_OUTPUTS, {"run_id": run_id}):
        output = _output_row(row)
        found.setdefault(output.job_id, []).append(output)
    return {job_id: latest_attempt(rows) for job_id, rows in found.items()}


def list_job_outputs(conn: Connection, job_id: int) -> list[OutputRow]:
    """The outputs of the job's newest attempt that recorded any (the job's outputs, as a job has them)."""
    return latest_attempt(OutputRow(**row._mapping) for row in conn.execute(_JOB_OUTPUTS, {"job_id": job_id}))


def list_output_history(conn: Connection, job_id: int) -> list[OutputRow]:
    """Every output row of a job, of every attempt that recorded some, oldest first."""
    rows = [OutputRow(**row._mapping) for row in conn.execute(_JOB_OUTPUTS, {"job_id": job_id})]
    return sorted(rows, key=lambda row: (row.attempt or 0, row.id))


def list_inputs(conn: Connection, job_id: int) -> list[InputRow]:
    query = select(inputs).where(inputs.c.job_id == job_id).order_by(inputs.c.id)
    return [InputRow(**row._mapping) for row in conn.execute(query)]


def list_metrics(conn: Connection, run_id: int) -> list[MetricRow]:
    return [_metric_row(row) for row in conn.execute(_RUN_METRICS, {"run_id": run_id})]


def find_cache_hit(
    conn: Connection, cache_key: str, team_id: int | None = None
) -> tuple[int, list[OutputRow]] | None:
    """The job that produced what ``cache_key`` describes, and its outputs; None if nothing did.

    Takes the newest job with that key in state ``success``, or ``cached`` (then follows
    ``cached_from_job_id`` to the original). Whether the outputs still exist in the artifact
    store is the caller's check.
    """
    candidates = conn.execute(_CACHE_CANDIDATES_QUERY, {"cache_key": cache_key, "team_id": team_id}).all()
    for job_id, state, cached_from in candidates:
        original = job_id if state == "success" else _follow_cached_from(conn, cached_from)
        if original is not None:
            return original, list_job_outputs(conn, original)
    return None


def _follow_cached_from(conn: Connection, job_id: int | None) -> int | None:
    """The ``success`` job at the end of a cached_from chain; None if the chain is broken."""
    for _ in range(_MAX_CACHE_HOPS):
        if job_id is None:
            return None  # the original was deleted (ON DELETE SET NULL)
        row = conn.execute(_CACHE_LINK, {"job_id": job_id}).first()
        if row is None:
            return None
        if row.state == "success":
            return job_id
        if row.state != "cached":
            return None
        job_id = row.cached_from_job_id
    return None
