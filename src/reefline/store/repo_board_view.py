"""A board's page of pipelines, each with its recent runs (for the last run and a sparkline), read in
ONE query whatever the page size: the page of pipelines is a CTE, and each pipeline's newest runs are
joined to it. Never commits."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, and_, select, true

from reefline.store.repo_pipelines import _PIPELINES, PipelineRow
from reefline.store.tables import pipelines, runs

RECENT_RUNS = 20


@dataclass(frozen=True, slots=True)
class RecentRun:
    id: int
    state: str
    created_at: float
    started_at: float | None
    finished_at: float | None


@dataclass(frozen=True, slots=True)
class PipelineSummary:
    pipeline: PipelineRow
    recent: list[RecentRun] = field(default_factory=list)  # newest first


def pipeline_summaries(
    conn: Connection,
    team_id: int,
    *,
    board_id: int | None = None,
    after: str | None = None,
    limit: int = 50,
    recent: int = RECENT_RUNS,
) -> list[PipelineSummary]:
    """The team's pipelines by name (of one board, names after ``after``: the next page), at most
    ``limit``, each with its ``recent`` newest runs."""
    page = _PIPELINES.where(pipelines.c.team_id == team_id)
    if board_id is not None:
        page = page.where(pipelines.c.board_id == board_id)
    if after is not None:
        page = page.where(pipelines.c.name > after)
    listed = page.order_by(pipelines.c.name).limit(limit).cte("page")
    columns = (
        runs.c.id.label("run_id"),
        runs.c.state.label("run_state"),
        runs.c.created_at.label("run_created_at"),
        runs.c.started_at.label("run_started_at"),
        runs.c.finished_at.label("run_finished_at"),
    )
    # Each pipeline's newest runs through the pipeline_id index, never a scan of all its runs:
    # a LATERAL join on PostgreSQL; SQLite has none, but runs a correlated LIMIT as well.
    if conn.dialect.name == "postgresql":
        newest = (
            select(*columns)
            .where(runs.c.pipeline_id == listed.c.id)
            .order_by(runs.c.id.desc())
            .limit(recent)
            .lateral("newest")
        )
        query = select(listed, newest).select_from(listed.outerjoin(newest, true()))
        query = query.order_by(listed.c.name, newest.c.run_id.desc())
    else:
        other = runs.alias("other")
        ids = (
            select(other.c.id)
            .where(other.c.pipeline_id == listed.c.id)
            .order_by(other.c.id.desc())
            .limit(recent)
            .correlate(listed)
        )
        joined = listed.outerjoin(runs, and_(runs.c.pipeline_id == listed.c.id, runs.c.id.in_(ids)))
        query = select(listed, *columns).select_from(joined).order_by(listed.c.name, runs.c.id.desc())
    found: dict[int, PipelineSummary] = {}
    for row in conn.execute(query):
        m = row._mapping
        summary = found.get(m["id"])
        if summary is None:
            pipeline = PipelineRow(**{name: m[name] for name in PipelineRow.__dataclass_fields__})
            summary = found[m["id"]] = PipelineSummary(pipeline)
        if m["run_id"] is not None:
            summary.recent.append(
                RecentRun(
                    m["run_id"],
                    m["run_state"],
                    m["run_created_at"],
                    m["run_started_at"],
                    m["run_finished_at"],
                )
            )
    return list(found.values())
