"""Experiments over a team's runs: compare runs, a metric across runs, and the lineage of an output."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import Depends, Query
from sqlalchemy import Connection

from reefline.lineage import trace as lineage
from reefline.lineage.frames import Trace
from reefline.server.deps import Access, Transaction, access
from reefline.server.models import CompareOut, MetricHistoryOut, MetricPointOut, TraceFrameOut, TraceOut
from reefline.server.routing import SecureRouter
from reefline.services import experiments, pipelines
from reefline.services.permissions import Permission, Principal
from reefline.services.timefmt import iso
from reefline.services.types import Invalid, NotFound
from reefline.store import repo, repo_lineage, repo_scope

router = SecureRouter(tags=["experiments"])
Caller = Annotated[Access, Depends(access)]
MAX_COMPARED = 50


@router.get("/teams/{team}/compare", permission=Permission.PIPELINE_READ, response_model=CompareOut)
def compare(
    team: str,
    conn: Transaction,
    caller: Caller,
    runs: Annotated[str, Query(max_length=1000, description="run ids, comma-separated: 3,4,7")],
) -> CompareOut:
    """Params and metrics of two or more of the team's runs side by side, in the order given."""
    ids = _run_ids(runs)
    for run_id in ids:
        if repo_scope.team_of_run(conn, run_id) != caller.team:
            raise NotFound(f"no run {run_id} in team {team!r}")
    return CompareOut.of(experiments.compare_runs(conn, ids))


def _run_ids(text: str) -> list[int]:
    parts = [p.strip().lstrip("#") for p in text.split(",") if p.strip()]
    if not all(p.isdecimal() and len(p) < 19 for p in parts):
        raise Invalid(f"runs: give run ids separated by commas, e.g. 3,4 (got {text!r})")
    ids = list(dict.fromkeys(int(p) for p in parts))
    if len(ids) > MAX_COMPARED:
        raise Invalid(f"runs: at most {MAX_COMPARED} runs at once")
    return ids


@router.get(
    "/teams/{team}/pipelines/{name}/metrics",
    permission=Permission.PIPELINE_READ,
    response_model=MetricHistoryOut,
)
def metric_history(
    team: str,
    name: str,
    conn: Transaction,
    caller: Caller,
    key: Annotated[str, Query(min_length=1, max_length=200, description="the metric, e.g. accuracy")],
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> MetricHistoryOut:
    """The metric ``key`` in the pipeline's newest ``limit`` runs that reported it, oldest first, one
    point per job that reported it. 404 (naming the metrics there are) when no run reported it."""
    pipeline = pipelines.get_pipeline(conn, caller.team, name)
    points = experiments.metric_history(conn, key, pipeline=name, pipeline_id=pipeline.id, limit=limit)
    return MetricHistoryOut(
        key=key,
        points=[
            MetricPointOut(run_id=p.run_id, created_at=iso(p.created_at) or "", job=p.job, value=p.value)
            for p in points
        ],
    )


@router.get("/runs/{run_id}/trace", permission=Permission.PIPELINE_READ, response_model=TraceOut)
def trace(
    run_id: int,
    conn: Transaction,
    caller: Caller,
    output: Annotated[
        str,
        Query(min_length=1, max_length=1000, description="`job.output`, or the path of an output of the run"),
    ],
    forward: Annotated[bool, Query(description="what the output fed, instead of where it came from")] = False,
    depth: Annotated[int | None, Query(ge=0, le=lineage.DEFAULT_DEPTH)] = None,
) -> TraceOut:
    """The lineage of one of the run's outputs, as ``reefline trace RUN:job.output`` prints it."""
    target = _target(conn, run_id, output)
    found = (
        lineage.forward(conn, target, depth=depth)
        if forward
        else lineage.backtrace(conn, target, depth=depth)
    )
    return _visible(conn, caller.user, found)


def _target(conn: Connection, run_id: int, output: str) -> lineage.Target:
    by_path = [o for rows in repo.list_outputs(conn, run_id).values() for o in rows if o.path == output]
    if by_path:
        return lineage.Target(output, by_path[0].sha256, by_path[0].job_id)
    job, dot, name = output.rpartition(".")
    rows = repo_lineage.run_job_outputs(conn, run_id, job, name) if dot and job else []
    if not rows:
        raise NotFound(f"run {run_id} has no output {output!r} (give `job.output` or an output's path)")
    job_id, row = rows[0]
    return lineage.Target(output, row.sha256, job_id)


def _visible(conn: Connection, principal: Principal, found: Trace) -> TraceOut:
    """The trace without the frames of runs in teams the caller is not in (a trace crosses pipelines)."""
    teams: dict[int, int | None] = {}
    hidden: set[int] = set()
    for frame in found.frames:
        if frame.run_id is None:  # a component run outside any job (the SDK): not in this API yet
            hidden.add(frame.number)
            continue
        if frame.run_id not in teams:
            teams[frame.run_id] = repo_scope.team_of_run(conn, frame.run_id)
        team_id = teams[frame.run_id]
        if not (principal.is_admin or (team_id is not None and team_id in principal.roles)):
            hidden.add(frame.number)
    hidden_runs = {f.run_id for f in found.frames if f.number in hidden}
    frames = []
    for frame in found.frames:
        if frame.number in hidden:
            continue
        data: dict[str, Any] = asdict(frame)
        data["at"] = iso(frame.at)
        for link in (*data["inputs"], *data["outputs"]):
            if link["frame"] in hidden:
                link["frame"] = None
            if link["producer_run"] in hidden_runs:
                link["producer_run"] = None
        if data["derived_from"] in hidden:
            data["derived_from"] = None
        frames.append(TraceFrameOut.model_validate(data))
    return TraceOut(
        target=found.target,
        sha256=found.sha256,
        direction=found.direction,
        truncated=found.truncated,
        hidden=len(hidden),
        frames=frames,
    )
