"""Teams, their members and roles, and their audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from pydantic import BaseModel, Field

from reefline.server.deps import SIGNED_IN, Access, Transaction, access, permissions_changed
from reefline.server.models import NAME_RULE, AuditOut, MemberOut, RoleOut, TeamOut
from reefline.server.routing import SecureRouter
from reefline.services import accounts, audit
from reefline.services.permissions import Permission

router = SecureRouter(tags=["teams"])
Caller = Annotated[Access, Depends(access)]


class TeamIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, json_schema_extra=NAME_RULE)


class MemberIn(BaseModel):
    role: str = Field(
        min_length=1,
        max_length=100,
        description="a built-in role (owner, maintainer, developer, viewer) or one of the team's",
    )


class RoleIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, json_schema_extra=NAME_RULE)
    permissions: list[Permission] = Field(max_length=64)


@router.get("/teams", permission=SIGNED_IN, response_model=list[TeamOut])
def list_teams(conn: Transaction, caller: Caller) -> list[TeamOut]:
    """The teams you are a member of (a site admin: every team)."""
    principal = caller.user
    return [
        TeamOut(id=t.id, name=t.name, role=principal.role_names.get(t.id))
        for t in accounts.list_teams_for(conn, principal)
    ]


@router.post("/teams", permission=SIGNED_IN, response_model=TeamOut, status_code=201)
def create_team(body: TeamIn, conn: Transaction, caller: Caller, request: Request) -> TeamOut:
    """A new team; you become its owner."""
    permissions_changed(request)
    team = accounts.create_team(conn, caller.user, body.name)
    return TeamOut(id=team.id, name=team.name, role="owner")


@router.get("/teams/{team}/members", permission=Permission.BOARD_READ, response_model=list[MemberOut])
def list_members(team: str, conn: Transaction, caller: Caller) -> list[MemberOut]:
    return [MemberOut.of(m) for m in accounts.list_members(conn, caller.team)]


@router.put("/teams/{team}/members/{username}", permission=Permission.TEAM_MANAGE, response_model=MemberOut)
def put_member(
    team: str, username: str, body: MemberIn, conn: Transaction, caller: Caller, request: Request
) -> MemberOut:
    """Add a user to the team with a role, or change their role."""
    permissions_changed(request)
    current = {m.username for m in accounts.list_members(conn, caller.team)}
    if username in current:
        return MemberOut.of(accounts.set_member_role(conn, caller.user, caller.team, username, body.role))
    return MemberOut.of(accounts.add_member(conn, caller.user, caller.team, username, body.role))


@router.delete("/teams/{team}/members/{username}", permission=Permission.TEAM_MANAGE, status_code=204)
def remove_member(team: str, username: str, conn: Transaction, caller: Caller, request: Request) -> None:
    permissions_changed(request)
    accounts.remove_member(conn, caller.user, caller.team, username)


@router.get("/teams/{team}/roles", permission=Permission.BOARD_READ, response_model=list[RoleOut])
def list_roles(team: str, conn: Transaction, caller: Caller) -> list[RoleOut]:
    return [RoleOut.of(r) for r in accounts.list_roles(conn, caller.team)]


@router.post(
    "/teams/{team}/roles", permission=Permission.ROLE_MANAGE, response_model=RoleOut, status_code=201
)
def create_role(team: str, body: RoleIn, conn: Transaction, caller: Caller, request: Request) -> RoleOut:
    permissions_changed(request)
    return RoleOut.of(
        accounts.create_role(conn, caller.user, caller.team, body.name, [str(p) for p in body.permissions])
    )


@router.delete("/teams/{team}/roles/{name}", permission=Permission.ROLE_MANAGE, status_code=204)
def delete_role(team: str, name: str, conn: Transaction, caller: Caller, request: Request) -> None:
    permissions_changed(request)
    accounts.delete_role(conn, caller.user, caller.team, name)


@router.get("/teams/{team}/audit", permission=Permission.AUDIT_READ, response_model=list[AuditOut])
def audit_log(
    team: str,
    conn: Transaction,
    caller: Caller,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditOut]:
    """Every change made in the team, newest first (page with ``before`` = the last id you got)."""
    return [AuditOut.of(e) for e in audit.entries(conn, team_id=caller.team, before_id=before, limit=limit)]
