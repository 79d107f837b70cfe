"""Boards, pipelines and their revisions: push, list, diff, roll back."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, File, Form, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field

from reefline.server.bodies import MAX_SPEC_BYTES, TooLarge
from reefline.server.deps import Access, Transaction, access
from reefline.server.models import (
    NAME_RULE,
    BoardOut,
    DiffOut,
    PipelineOut,
    PipelineSummaryOut,
    PushOut,
    RevisionOut,
    SpecGraphOut,
    json_of,
)
from reefline.server.routing import SecureRouter
from reefline.services import pipelines, source_bundle
from reefline.services.permissions import Permission
from reefline.services.spec_graph import graph_of_text
from reefline.services.types import Invalid
from reefline.store.repo_board_view import pipeline_summaries

router = SecureRouter(tags=["pipelines"])
Caller = Annotated[Access, Depends(access)]
TEAM = "/teams/{team}"
PIPELINE = TEAM + "/pipelines/{name}"


class BoardIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, json_schema_extra=NAME_RULE)
    description: str | None = Field(default=None, max_length=2000)


class RollbackIn(BaseModel):
    revision: int = Field(ge=1, le=2**31)
    message: str | None = Field(default=None, max_length=2000)


@router.get(TEAM + "/boards", permission=Permission.BOARD_READ, response_model=list[BoardOut])
def list_boards(team: str, conn: Transaction, caller: Caller) -> list[BoardOut]:
    return [BoardOut.of(b) for b in pipelines.list_boards(conn, caller.team)]


@router.post(TEAM + "/boards", permission=Permission.BOARD_EDIT, response_model=BoardOut, status_code=201)
def create_board(team: str, body: BoardIn, conn: Transaction, caller: Caller) -> BoardOut:
    return BoardOut.of(pipelines.create_board(conn, caller.actor, caller.team, body.name, body.description))


@router.get(TEAM + "/pipelines", permission=Permission.PIPELINE_READ, response_model=list[PipelineSummaryOut])
def list_pipelines(
    team: str,
    conn: Transaction,
    caller: Caller,
    board: Annotated[str | None, Query(max_length=100)] = None,
    after: Annotated[str | None, Query(max_length=200, description="the last name you got")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    """The team's pipelines by name (or one board's), each with its last run and its recent runs for
    a sparkline, read in one query per page. Page with ``after`` = the last name you got."""
    board_id = pipelines.get_board(conn, caller.team, board).id if board else None
    found = pipeline_summaries(conn, caller.team, board_id=board_id, after=after, limit=limit)
    return json_of([PipelineSummaryOut.of_summary(s) for s in found], PipelineSummaryOut)


def _read_upload(upload: UploadFile, limit: int, what: str) -> bytes:
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"the {what} is over the limit of {limit} bytes", details={"limit": limit})
    return data


@router.post(
    TEAM + "/pipelines", permission=Permission.PIPELINE_EDIT, response_model=PushOut, status_code=201
)
def push(
    team: str,
    request: Request,
    conn: Transaction,
    caller: Caller,
    spec: Annotated[UploadFile, File(description="the pipeline's YAML")],
    source: Annotated[
        UploadFile | None, File(description="the project's source (tar.gz, see `reefline push`)")
    ] = None,
    board: Annotated[str | None, Form(max_length=100)] = None,
    message: Annotated[str | None, Form(max_length=2000)] = None,
    file: Annotated[str, Form(max_length=500)] = "reefline.yaml",
) -> PushOut:
    """A new revision of the pipeline the YAML names (created on its first push, on ``board`` or the
    board its ``board:`` key names). An invalid spec is refused (422) with the diagnostics
    ``reefline validate`` prints. Without ``source`` the current revision's source is kept."""
    try:
        text = _read_upload(spec, MAX_SPEC_BYTES, "spec").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid(f"the spec is not UTF-8 text (byte {exc.start})") from None
    settings = request.app.state.settings
    ref = None
    if source is not None:
        data = _read_upload(source, settings.max_upload_bytes, "source")
        sha = source_bundle.store_bundle(settings.home, data, limit_bytes=settings.max_upload_bytes)
        ref = source_bundle.SourceRef(sha, len(data))
    board_id = pipelines.get_board(conn, caller.team, board).id if board else None
    result = pipelines.push_revision(
        conn,
        caller.actor,
        team_id=caller.team,
        spec_text=text,
        filename=file,
        board_id=board_id,
        message=message,
        source=ref,
    )
    return PushOut.of(result)


@router.get(PIPELINE, permission=Permission.PIPELINE_READ, response_model=PipelineOut)
def get_pipeline(team: str, name: str, conn: Transaction, caller: Caller) -> PipelineOut:
    return PipelineOut.of(pipelines.get_pipeline(conn, caller.team, name))


@router.get(PIPELINE + "/revisions", permission=Permission.PIPELINE_READ, response_model=list[RevisionOut])
def list_revisions(team: str, name: str, conn: Transaction, caller: Caller) -> list[RevisionOut]:
    pipeline = pipelines.get_pipeline(conn, caller.team, name)
    return [RevisionOut.of(r) for r in pipelines.list_revisions(conn, pipeline.id)]


@router.get(PIPELINE + "/revisions/{number}", permission=Permission.PIPELINE_READ, response_model=RevisionOut)
def get_revision(team: str, name: str, number: int, conn: Transaction, caller: Caller) -> RevisionOut:
    pipeline = pipelines.get_pipeline(conn, caller.team, name)
    return RevisionOut.of(pipelines.get_revision(conn, pipeline.id, number), with_text=True)


@router.get(
    PIPELINE + "/revisions/{number}/graph", permission=Permission.PIPELINE_READ, response_model=SpecGraphOut
)
def get_revision_graph(team: str, name: str, number: int, conn: Transaction, caller: Caller) -> SpecGraphOut:
    """The editor graph of a stored revision's YAML (as ``POST /spec/graph`` gives)."""
    pipeline = pipelines.get_pipeline(conn, caller.team, name)
    revision = pipelines.get_revision(conn, pipeline.id, number)
    return SpecGraphOut.of(graph_of_text(revision.spec_text))


@router.get(PIPELINE + "/diff", permission=Permission.PIPELINE_READ, response_model=DiffOut)
def diff(
    team: str,
    name: str,
    conn: Transaction,
    caller: Caller,
    a: Annotated[int, Query(ge=1, le=2**31)],
    b: Annotated[int, Query(ge=1, le=2**31)],
) -> DiffOut:
    """A unified diff of the YAML from revision ``a`` to ``b`` (empty when they are equal)."""
    pipeline = pipelines.get_pipeline(conn, caller.team, name)
    return DiffOut(a=a, b=b, diff=pipelines.diff_revisions(conn, pipeline.id, a, b))


@router.post(PIPELINE + "/rollback", permission=Permission.PIPELINE_EDIT, response_model=PushOut)
def rollback(team: str, name: str, body: RollbackIn, conn: Transaction, caller: Caller) -> PushOut:
    """Make an old revision current again, recorded as a new revision."""
    pipeline = pipelines.get_pipeline(conn, caller.team, name)
    return PushOut.of(pipelines.rollback(conn, caller.actor, pipeline.id, body.revision, body.message))
