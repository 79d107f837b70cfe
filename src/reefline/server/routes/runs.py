"""Runs: start one of a pipeline's revisions, list, show, cancel, retry, read and follow logs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from reefline.engine.logcap import logs_root
from reefline.engine.states import RunState
from reefline.server import events
from reefline.server.deps import Access, Transaction, access, after_commit
from reefline.server.models import LogLineOut, json_of
from reefline.server.routing import SecureRouter
from reefline.services import pipelines, queries, team_policy
from reefline.services import runs as run_verbs
from reefline.services.compile import compile_text
from reefline.services.full_log import iter_job_full_log
from reefline.services.permissions import Permission
from reefline.services.shapes import RunDetailShape, RunShape
from reefline.services.types import RunOptions
from reefline.store import repo, repo_logs
from reefline.store.repo_accounts import get_user_by_name

router = SecureRouter(tags=["runs"])
Caller = Annotated[Access, Depends(access)]
RUN = "/runs/{run_id}"


class RunIn(BaseModel):
    params: dict[str, str] = Field(default_factory=dict, description="`-p name=value` overrides, as text")
    revision: int | None = Field(default=None, ge=1, le=2**31, description="default: the current revision")
    no_cache: bool = False


class RetryIn(BaseModel):
    no_cache: bool = False


def _wake(request: Request) -> None:
    """Once the run is committed, the engine in this process (if any) looks at once, not at its next poll."""
    host = getattr(request.app.state, "host", None)
    if host is not None:
        after_commit(request, host.wake)


@router.post(
    "/teams/{team}/pipelines/{name}/runs",
    permission=Permission.PIPELINE_RUN,
    response_model=RunShape,
    status_code=201,
)
def start_run(
    team: str, name: str, body: RunIn, request: Request, conn: Transaction, caller: Caller
) -> RunShape:
    """Queue a run of the pipeline's current revision (or ``revision``); an engine picks it up."""
    pipeline = pipelines.get_pipeline(conn, caller.team, name)
    revision = (
        pipelines.get_revision(conn, pipeline.id, body.revision)
        if body.revision is not None
        else pipelines.current_revision(conn, pipeline.id)
    )
    options = RunOptions(params=body.params, no_cache=body.no_cache, trigger="api")
    policy = team_policy.policy_for_team(conn, caller.team)
    compiled = compile_text(revision.spec_text, Path("reefline.yaml"), options, policy=policy)
    run_id = run_verbs.create_run(
        conn,
        pipeline_id=pipeline.id,
        plan=compiled.plan,
        spec_text=revision.spec_text,
        spec_path="reefline.yaml",
        params=compiled.params,
        workspace=None,
        options=options,
        trigger="api",
        triggered_by=caller.user.user_id,
        revision_id=revision.id,
        actor=caller.actor,
    )
    run = repo.get_run(conn, run_id)
    _wake(request)
    return RunShape.of(run)


@router.get("/teams/{team}/runs", permission=Permission.PIPELINE_READ, response_model=list[RunShape])
def list_runs(
    team: str,
    conn: Transaction,
    caller: Caller,
    pipeline: Annotated[str | None, Query(max_length=200)] = None,
    state: Annotated[
        list[RunState] | None, Query(description="one or more states (repeat the parameter)")
    ] = None,
    trigger: Annotated[str | None, Query(max_length=32, description="cli, api, retry, schedule, …")] = None,
    who: Annotated[str | None, Query(max_length=200, description="the username who started them")] = None,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    """The team's runs, newest first, filtered by pipeline, state, trigger and who started them
    (page with ``before`` = the last id you got)."""
    user = get_user_by_name(conn, who) if who is not None else None
    if who is not None and user is None:
        return json_of([], RunShape)  # nobody of that name started anything
    rows = repo.list_runs(
        conn,
        limit,
        pipeline,
        team_id=caller.team,
        before_id=before,
        states=[str(s) for s in state] if state else None,
        trigger=trigger,
        triggered_by=user.id if user is not None else None,
    )
    return json_of([RunShape.of(queries.as_shown(r)) for r in rows], RunShape)


@router.get(RUN, permission=Permission.PIPELINE_READ, response_model=RunDetailShape)
def get_run(run_id: int, conn: Transaction, caller: Caller) -> Response:
    """A run with its jobs, attempts, outputs, metrics and state history."""
    return json_of(RunDetailShape.of_detail(queries.run_detail(conn, run_id)))


@router.post(RUN + "/cancel", permission=Permission.RUN_CANCEL, response_model=RunShape, status_code=202)
def cancel_run(run_id: int, request: Request, conn: Transaction, caller: Caller) -> RunShape:
    """Ask the run's engine to cancel it (answered within about a second)."""
    run_verbs.request_cancel(conn, run_id, actor=caller.actor)
    run = repo.get_run(conn, run_id)
    _wake(request)
    return RunShape.of(run)


@router.post(RUN + "/retry", permission=Permission.PIPELINE_RUN, response_model=RunShape, status_code=202)
def retry_run(
    run_id: int, request: Request, conn: Transaction, caller: Caller, body: RetryIn | None = None
) -> RunShape:
    """Run again the jobs of a finished run that did not succeed, in the same run."""
    run_verbs.request_retry(conn, run_id, no_cache=bool(body and body.no_cache), actor=caller.actor)
    run = repo.get_run(conn, run_id)
    _wake(request)
    return RunShape.of(run)


@router.get(RUN + "/logs", permission=Permission.PIPELINE_READ, response_model=list[LogLineOut])
def read_logs(
    run_id: int,
    conn: Transaction,
    caller: Caller,
    job: Annotated[str | None, Query(max_length=300, description="a job, or a matrix job's key")] = None,
    after: Annotated[int, Query(ge=0, le=2**62, description="the id of the last line you have")] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> Response:
    """Stored log lines in order (capped logs keep head and tail; follow live ones with /events)."""
    jobs = repo.list_jobs(conn, run_id)
    names = {j.id: j.name for j in jobs}
    wanted = queries.log_jobs(jobs, run_id, job) if job else None
    out: list[LogLineOut] = []
    cursor = after
    while len(out) < limit:
        rows = repo_logs.read_logs(conn, run_id, after_id=cursor, limit=limit)
        if not rows:
            break
        cursor = rows[-1].id
        out.extend(_line(names, r) for r in rows if wanted is None or r.job_id in wanted)
    return json_of(out[:limit], LogLineOut)


@router.get(
    RUN + "/logs/download",
    permission=Permission.PIPELINE_READ,
    response_class=StreamingResponse,
    responses={200: {"content": {"text/plain": {}}, "description": "the whole log, as an attachment"}},
)
def download_logs(
    run_id: int,
    request: Request,
    conn: Transaction,
    caller: Caller,
    job: Annotated[str | None, Query(max_length=300, description="a job, or a matrix job's key")] = None,
) -> StreamingResponse:
    """The whole log of a job (every attempt, also the lines past the store's cap, secrets masked),
    or of every job, as a text file. With several jobs each line starts with `job | `."""
    run = repo.get_run(conn, run_id)
    jobs = repo.list_jobs(conn, run_id)
    wanted = queries.log_jobs(jobs, run_id, job) if job else {j.id for j in jobs}
    chosen = [j for j in jobs if j.id in wanted]
    workspace = Path(run.workspace) if run.workspace else request.app.state.settings.home.workspace(run_id)
    db = request.app.state.db
    several = len(chosen) > 1

    def lines() -> Iterator[bytes]:
        for one in chosen:
            prefix = f"{one.name} | " if several else ""
            for _, _, text in iter_job_full_log(db, run_id, one, logs_root(workspace)):
                yield f"{prefix}{text.rstrip(chr(10))}\n".encode()

    name = re.sub(r"[^A-Za-z0-9._-]+", "_", f"run-{run_id}" + (f"-{job}" if job else "")) + ".log"
    return StreamingResponse(
        lines(),
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _line(names: dict[int, str], row: Any) -> LogLineOut:
    return LogLineOut(
        job=names.get(row.job_id, "?"),
        attempt=row.attempt,
        seq=row.seq,
        ts=row.ts,
        stream=row.stream,
        text=row.text,
    )


@router.get(
    RUN + "/events",
    permission=Permission.PIPELINE_READ,
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
)
def run_events(
    run_id: int,
    request: Request,
    conn: Transaction,
    caller: Caller,
    last_event_id: Annotated[str | None, Header(max_length=64)] = None,
) -> StreamingResponse:
    """The run's state changes and log lines as Server-Sent Events, from the start or after
    ``Last-Event-ID``, until the run has ended (see ``server/events.py`` for the events)."""
    position = events.Position.parse(last_event_id)
    return StreamingResponse(
        events.stream(request.app.state.db, run_id, position),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
