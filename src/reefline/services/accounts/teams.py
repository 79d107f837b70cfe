"""Teams and their members: create and find teams; add, re-role and remove members."""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from reefline.services import audit
from reefline.services.accounts._common import Caller, _caller, _now, _team_for_change, check_name
from reefline.services.accounts.users import find_user, get_user
from reefline.services.permissions import OWNER, Permission, Principal, ensure_builtin_roles
from reefline.services.types import Conflict, Forbidden, Invalid, NotFound
from reefline.store import repo_accounts as repo
from reefline.store.repo_accounts import MemberRow, RoleRow, TeamRow


def create_team(
    conn: Connection, actor: Caller, name: str, *, owner: str | None = None, now: float | None = None
) -> TeamRow:
    """A new team whose owner is the caller, or ``owner`` (a username: a site admin or the system,
    which must name one, may create a team for someone else). Needs: any signed-in user."""
    principal, who = _caller(conn, actor)
    check_name("team", name)
    if owner is None:
        if principal is None:
            raise Invalid("name the team's owner (a username)", details={"field": "owner"})
        owner_user = get_user(conn, principal.user_id)
    else:
        owner_user = find_user(conn, owner)
        if principal is not None and not principal.is_admin and owner_user.id != principal.user_id:
            raise Forbidden("only a site admin may create a team for someone else")
    if not owner_user.active:
        raise Invalid(f"{owner_user.username} is deactivated and cannot own a team")
    if repo.get_team_by_name(conn, name) is not None:
        raise Conflict(f"a team named {name} exists already", details={"team": name})
    at = _now(now)
    ensure_builtin_roles(conn, now=at)
    try:
        team_id = repo.insert_team(conn, name=name, created_at=at)
    except IntegrityError as exc:
        raise Conflict(f"a team named {name} exists already", details={"team": name}) from exc
    role = _role(conn, team_id, name, OWNER)
    repo.insert_membership(conn, team_id=team_id, user_id=owner_user.id, role_id=role.id, created_at=at)
    audit.record(
        conn, who, "team.create", f"team {name}", team_id=team_id, details={"owner": owner_user.username}
    )
    return get_team(conn, team_id)


def get_team(conn: Connection, team_id: int) -> TeamRow:
    team = repo.get_team(conn, team_id)
    if team is None:
        raise NotFound("team not found", details={"team_id": team_id})
    return team


def find_team(conn: Connection, name: str) -> TeamRow:
    team = repo.get_team_by_name(conn, name)
    if team is None:
        raise NotFound(f"no team named {name}", details={"team": name})
    return team


def list_teams_for(conn: Connection, principal: Principal) -> list[TeamRow]:
    """The teams the principal is a member of (a site admin: every team), by name."""
    if principal.is_admin:
        return repo.list_teams(conn)
    return repo.list_teams(conn, [team_id for team_id, _, _ in repo.user_roles(conn, principal.user_id)])


def list_members(conn: Connection, team_id: int) -> list[MemberRow]:
    """The team's members by username, with their roles. The API checks ``board.read``."""
    get_team(conn, team_id)
    return repo.list_members(conn, team_id)


def _role(conn: Connection, team_id: int, team_name: str, role_name: str) -> RoleRow:
    role = repo.get_role_by_name(conn, team_id, role_name) if isinstance(role_name, str) else None
    if role is None:
        known = [r.name for r in repo.list_roles(conn, team_id)]
        raise Invalid(
            f"no role named {role_name!r} in team {team_name}: choose one of {', '.join(known)}",
            details={"role": role_name, "roles": known},
        )
    return role


def _check_grant(principal: Principal | None, team_id: int, role: RoleRow, verb: str) -> None:
    """Nobody hands out (or takes away) more than they hold: a maintainer cannot make an owner."""
    if principal is None or principal.is_admin:
        return
    extra = sorted(set(role.permissions) - {str(p) for p in principal.holds(team_id)})
    if extra:
        raise Forbidden(
            f"you cannot {verb} the role {role.name}: it has {', '.join(extra)}, which you do not hold",
            details={"role": role.name, "permissions": extra},
        )


def _member(conn: Connection, team: TeamRow, username: str) -> MemberRow:
    user = repo.get_user_by_name(conn, username) if isinstance(username, str) else None
    member = repo.get_membership(conn, team.id, user.id) if user is not None else None
    if member is None:
        raise NotFound(f"{username} is not a member of team {team.name}", details={"username": username})
    return member


def _keep_an_owner(conn: Connection, team: TeamRow, member: MemberRow) -> None:
    """Refuse to take the owner role from the team's last owner (the team is locked: no race)."""
    if member.role_name != OWNER:
        return
    owner = _role(conn, team.id, team.name, OWNER)
    if member.role_id == owner.id and repo.count_members_with_role(conn, owner.id, team_id=team.id) <= 1:
        raise Conflict(
            f"{member.username} is the last owner of team {team.name}: make another member owner first",
            details={"username": member.username},
        )


def add_member(
    conn: Connection, actor: Caller, team_id: int, username: str, role_name: str, *, now: float | None = None
) -> MemberRow:
    """Add a user to the team with a role (built-in or the team's). Needs: ``team.manage``, and
    every permission of the role (a site admin: nothing more)."""
    principal, who = _caller(conn, actor)
    team = _team_for_change(conn, principal, team_id, Permission.TEAM_MANAGE)
    user = find_user(conn, username)
    if not user.active:
        raise Invalid(f"{username} is deactivated")
    role = _role(conn, team_id, team.name, role_name)
    _check_grant(principal, team_id, role, "give")
    existing = repo.get_membership(conn, team_id, user.id)
    if existing is not None:
        raise Conflict(
            f"{username} is a member of team {team.name} already (role {existing.role_name}): "
            "change the role instead",
            details={"username": username, "role": existing.role_name},
        )
    try:
        repo.insert_membership(conn, team_id=team_id, user_id=user.id, role_id=role.id, created_at=_now(now))
    except IntegrityError as exc:
        raise Conflict(f"{username} is a member of team {team.name} already") from exc
    audit.record(
        conn,
        who,
        "member.add",
        f"team {team.name}",
        team_id=team_id,
        details={"user": username, "role": role.name},
    )
    member = repo.get_membership(conn, team_id, user.id)
    assert member is not None
    return member


def set_member_role(
    conn: Connection, actor: Caller, team_id: int, username: str, role_name: str
) -> MemberRow:
    """Change a member's role; the last owner stays one. Needs: ``team.manage``, and every permission
    of both the old and the new role."""
    principal, who = _caller(conn, actor)
    team = _team_for_change(conn, principal, team_id, Permission.TEAM_MANAGE)
    member = _member(conn, team, username)
    role = _role(conn, team_id, team.name, role_name)
    current = _role(conn, team_id, team.name, member.role_name)
    _check_grant(principal, team_id, current, "take away")
    _check_grant(principal, team_id, role, "give")
    if role.id == member.role_id:
        return member
    _keep_an_owner(conn, team, member)
    repo.set_membership_role(conn, team_id, member.user_id, role.id)
    audit.record(
        conn,
        who,
        "member.role",
        f"team {team.name}",
        team_id=team_id,
        details={"user": username, "from": member.role_name, "to": role.name},
    )
    changed = repo.get_membership(conn, team_id, member.user_id)
    assert changed is not None
    return changed


def remove_member(conn: Connection, actor: Caller, team_id: int, username: str) -> None:
    """Remove a member (never the last owner). Needs: being that member (leaving a team), or
    ``team.manage`` and every permission of the member's role."""
    principal, who = _caller(conn, actor)
    leaving = principal is not None and principal.username == username
    team = _team_for_change(conn, principal, team_id, None if leaving else Permission.TEAM_MANAGE)
    member = _member(conn, team, username)
    if not leaving:
        _check_grant(principal, team_id, _role(conn, team_id, team.name, member.role_name), "take away")
    _keep_an_owner(conn, team, member)
    repo.delete_membership(conn, team_id, member.user_id)
    audit.record(
        conn,
        who,
        "member.remove",
        f"team {team.name}",
        team_id=team_id,
        details={"user": username, "role": member.role_name},
    )
