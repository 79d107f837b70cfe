"""Experiments over recorded runs: params and metrics side by side (``compare``), a metric's history
(``metrics``). Read-only: every verb takes a connection and writes nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from reefline.services.project import NoRunsHere, open_reader_db
from reefline.services.queries import NO_RUNS, as_shown
from reefline.services.types import Invalid, NotFound
from reefline.store import repo
from reefline.store.tables import jobs, metrics, pipelines, runs

SPARK = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True, slots=True)
class ComparedRun:
    id: int
    pipeline: str
    state: str
    created_at: float


@dataclass(frozen=True, slots=True)
class ComparedRow:
    """One param or metric: its value in each compared run (None: the run has none)."""

    key: str
    values: list[Any]

    @property
    def differs(self) -> bool:
        first = self.values[0]
        return any(v != first for v in self.values[1:])


@dataclass(frozen=True, slots=True)
class Comparison:
    runs: list[ComparedRun]
    params: list[ComparedRow] = field(default_factory=list)
    metrics: list[ComparedRow] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class MetricPoint:
    run_id: int
    pipeline: str
    created_at: float
    job: str
    value: float


def compare_runs(conn: sa.Connection, run_ids: list[int]) -> Comparison:
    """The params and metrics of ``run_ids`` (in that order), one row per key, sorted by key.

    A metric reported by one job is keyed by its name; one that several jobs of a run report (a
    matrix job) is keyed ``name [job]`` for each.
    """
    if len(run_ids) < 2:
        raise Invalid("compare needs at least two runs, e.g. `reefline compare 3 4`")
    rows = [as_shown(repo.get_run(conn, run_id)) for run_id in run_ids]
    compared = [ComparedRun(r.id, r.pipeline_name, r.state, r.created_at) for r in rows]
    param_keys = sorted({key for r in rows for key in r.params})
    params = [ComparedRow(key, [r.params.get(key) for r in rows]) for key in param_keys]
    per_run = [_labelled_metrics(conn, r.id) for r in rows]
    metric_keys = sorted({key for m in per_run for key in m})
    metric_rows = [ComparedRow(key, [m.get(key) for m in per_run]) for key in metric_keys]
    return Comparison(compared, params, metric_rows)


def _labelled_metrics(conn: sa.Connection, run_id: int) -> dict[str, float]:
    query = (
        sa.select(jobs.c.name, metrics.c.key, metrics.c.value)
        .join_from(metrics, jobs, metrics.c.job_id == jobs.c.id)
        .where(metrics.c.run_id == run_id)
        .order_by(jobs.c.position, metrics.c.id)
    )
    found = conn.execute(query).all()
    reporters: dict[str, int] = {}
    for _, key, _ in found:
        reporters[key] = reporters.get(key, 0) + 1
    return {(key if reporters[key] == 1 else f"{key} [{job}]"): float(value) for job, key, value in found}


def metric_history(
    conn: sa.Connection,
    key: str,
    *,
    pipeline: str | None = None,
    workspace: str | None = None,
    limit: int = 20,
    pipeline_id: int | None = None,
) -> list[MetricPoint]:
    """The values of metric ``key`` in the newest ``limit`` runs that reported it, oldest first (one
    point per job that reported it); NotFound when no run did. ``pipeline_id`` (the server's: names
    repeat across teams) narrows it to one pipeline like ``pipeline`` does by name."""
    newest = (
        sa.select(metrics.c.run_id)
        .join_from(metrics, runs, metrics.c.run_id == runs.c.id)
        .join(pipelines, runs.c.pipeline_id == pipelines.c.id)
        .where(metrics.c.key == key)
        .group_by(metrics.c.run_id)
        .order_by(metrics.c.run_id.desc())
        .limit(limit)
    )
    if pipeline is not None:
        newest = newest.where(pipelines.c.name == pipeline)
    if workspace is not None:
        newest = newest.where(runs.c.workspace == workspace)
    if pipeline_id is not None:
        newest = newest.where(runs.c.pipeline_id == pipeline_id)
    run_ids = list(conn.execute(newest).scalars())
    if not run_ids:
        where = f" of pipeline {pipeline!r}" if pipeline else ""
        known = _known_keys(conn, pipeline, workspace, pipeline_id)
        raise NotFound(f"no run{where} reported a metric {key!r}{known}")
    query = (
        sa.select(runs.c.id, pipelines.c.name, runs.c.created_at, jobs.c.name, metrics.c.value)
        .join_from(metrics, jobs, metrics.c.job_id == jobs.c.id)
        .join(runs, metrics.c.run_id == runs.c.id)
        .join(pipelines, runs.c.pipeline_id == pipelines.c.id)
        .where(metrics.c.key == key, metrics.c.run_id.in_(run_ids))
        .order_by(runs.c.id, jobs.c.position, jobs.c.id)
    )
    return [
        MetricPoint(int(r[0]), str(r[1]), float(r[2]), str(r[3]), float(r[4])) for r in conn.execute(query)
    ]


def _known_keys(
    conn: sa.Connection, pipeline: str | None, workspace: str | None, pipeline_id: int | None = None
) -> str:
    query = (
        sa.select(metrics.c.key)
        .join_from(metrics, runs, metrics.c.run_id == runs.c.id)
        .join(pipelines, runs.c.pipeline_id == pipelines.c.id)
        .distinct()
        .order_by(metrics.c.key)
        .limit(20)
    )
    if pipeline is not None:
        query = query.where(pipelines.c.name == pipeline)
    if workspace is not None:
        query = query.where(runs.c.workspace == workspace)
    if pipeline_id is not None:
        query = query.where(runs.c.pipeline_id == pipeline_id)
    keys = list(conn.execute(query).scalars())
    return f"; the metrics there are: {', '.join(keys)}" if keys else "; no run has reported any metric yet"


def sparkline(values: list[float]) -> str:
    """One block character per value, from ▁ (the lowest) to █ (the highest); all equal: ▄."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return " " * len(values)
    low, high = min(finite), max(finite)
    chars = []
    for v in values:
        if not math.isfinite(v):
            chars.append(" ")
        elif high == low:
            chars.append(SPARK[3])
        else:
            chars.append(SPARK[round((v - low) / (high - low) * (len(SPARK) - 1))])
    return "".join(chars)


# ---------------------------------------------------------------------------- laptop project


def _reader(project_dir: Path) -> sa.Engine:
    try:
        return open_reader_db(project_dir)
    except NoRunsHere as exc:
        if project_dir.is_dir():
            raise NotFound(NO_RUNS) from exc
        raise


def compare_in_project(project_dir: Path, refs: list[str]) -> Comparison:
    """``compare_runs`` over run references (``12``, ``#12``, ``last``) of the project's database."""
    if len(refs) < 2:
        raise Invalid("compare needs at least two runs, e.g. `reefline compare 3 4`")
    db = _reader(project_dir)
    workspace = str(project_dir.resolve())
    try:
        with db.connect() as conn:
            return compare_runs(conn, [repo.resolve_run_ref(conn, ref, workspace) for ref in refs])
    finally:
        db.dispose()


def metric_history_in_project(
    project_dir: Path, key: str, pipeline: str | None = None, limit: int = 20
) -> list[MetricPoint]:
    db = _reader(project_dir)
    try:
        with db.connect() as conn:
            return metric_history(
                conn, key, pipeline=pipeline, workspace=str(project_dir.resolve()), limit=limit
            )
    finally:
        db.dispose()
