"""A team's secrets: write-only. Listing shows names and scopes; no route ever returns a value."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from pydantic import BaseModel, Field

from reefline.server.deps import Access, Transaction, access
from reefline.server.models import SecretOut
from reefline.server.routing import SecureRouter
from reefline.services import pipelines, secrets
from reefline.services.permissions import Permission
from reefline.services.secret_box import SecretBox

router = SecureRouter(tags=["secrets"])
Caller = Annotated[Access, Depends(access)]
SECRETS = "/teams/{team}/secrets"
Scope = Annotated[
    str | None, Query(max_length=200, description="a board's or pipeline's name: a narrower scope")
]


class SecretIn(BaseModel):
    value: str = Field(min_length=1, max_length=65536)


def _scope(
    conn: Transaction, team_id: int, board: str | None, pipeline: str | None
) -> tuple[int | None, int | None]:
    board_id = pipelines.get_board(conn, team_id, board).id if board else None
    pipeline_id = pipelines.get_pipeline(conn, team_id, pipeline).id if pipeline else None
    return board_id, pipeline_id


def box(request: Request) -> SecretBox:
    found: SecretBox = request.app.state.secret_box
    return found


@router.get(SECRETS, permission=Permission.SECRET_READ, response_model=list[SecretOut])
def list_secrets(
    team: str, conn: Transaction, caller: Caller, board: Scope = None, pipeline: Scope = None
) -> list[SecretOut]:
    board_id, pipeline_id = _scope(conn, caller.team, board, pipeline)
    rows = secrets.list_secrets(conn, caller.team, board_id=board_id, pipeline_id=pipeline_id)
    return [SecretOut.of(s) for s in rows]


@router.put(SECRETS + "/{name}", permission=Permission.SECRET_WRITE, response_model=SecretOut)
def put_secret(
    team: str,
    name: str,
    body: SecretIn,
    request: Request,
    conn: Transaction,
    caller: Caller,
    board: Scope = None,
    pipeline: Scope = None,
) -> SecretOut:
    """Create or replace a secret of the team (or of one board or pipeline, which wins over it)."""
    board_id, pipeline_id = _scope(conn, caller.team, board, pipeline)
    row = secrets.set_secret(
        conn,
        box(request),
        caller.actor,
        team_id=caller.team,
        name=name,
        value=body.value,
        board_id=board_id,
        pipeline_id=pipeline_id,
    )
    return SecretOut.of(row)


@router.delete(SECRETS + "/{name}", permission=Permission.SECRET_WRITE, status_code=204)
def delete_secret(
    team: str, name: str, conn: Transaction, caller: Caller, board: Scope = None, pipeline: Scope = None
) -> None:
    board_id, pipeline_id = _scope(conn, caller.team, board, pipeline)
    secrets.delete_secret(
        conn, caller.actor, team_id=caller.team, name=name, board_id=board_id, pipeline_id=pipeline_id
    )
