"""A team's roles: the built-in ones and its own custom roles."""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from reefline.services import audit
from reefline.services.accounts._common import Caller, _caller, _now, _team_for_change, check_name
from reefline.services.accounts.teams import get_team
from reefline.services.permissions import BUILTIN_ROLES, Permission, parse_permissions
from reefline.services.types import Conflict, Forbidden, Invalid, NotFound
from reefline.store import repo_accounts as repo
from reefline.store.repo_accounts import RoleRow


def role_permissions(role: RoleRow) -> frozenset[Permission]:
    return parse_permissions(list(role.permissions))


def list_roles(conn: Connection, team_id: int) -> list[RoleRow]:
    """The built-in roles, then the team's own, each by name. The API checks ``board.read``."""
    get_team(conn, team_id)
    return repo.list_roles(conn, team_id)


def create_role(
    conn: Connection,
    actor: Caller,
    team_id: int,
    name: str,
    permissions: list[str] | tuple[str, ...] | set[str] | frozenset[str],
    *,
    now: float | None = None,
) -> RoleRow:
    """A custom role of the team. Needs: ``role.manage``, and every permission it grants."""
    principal, who = _caller(conn, actor)
    team = _team_for_change(conn, principal, team_id, Permission.ROLE_MANAGE)
    check_name("role", name)
    if name in BUILTIN_ROLES:
        raise Conflict(f"{name} is a built-in role: choose another name", details={"role": name})
    known = sorted(p.value for p in Permission)
    given = [permissions] if isinstance(permissions, str) else list(permissions)
    unknown = sorted({str(p) for p in given if p not in known})
    if unknown:
        raise Invalid(
            f"unknown permission(s) {', '.join(unknown)}: choose from {', '.join(known)}",
            details={"unknown": unknown, "known": known},
        )
    if not given:
        raise Invalid("a role needs at least one permission", details={"known": known})
    wanted = sorted(set(given))
    if principal is not None and not principal.is_admin:
        extra = sorted(set(wanted) - {str(p) for p in principal.holds(team_id)})
        if extra:
            raise Forbidden(
                f"a role cannot grant what you do not hold yourself: {', '.join(extra)}",
                details={"permissions": extra},
            )
    existing = repo.get_role_by_name(conn, team_id, name)
    if existing is not None and existing.team_id == team_id:
        raise Conflict(f"team {team.name} has a role named {name} already", details={"role": name})
    try:
        role_id = repo.insert_role(conn, team_id=team_id, name=name, permissions=wanted, created_at=_now(now))
    except IntegrityError as exc:
        raise Conflict(f"team {team.name} has a role named {name} already", details={"role": name}) from exc
    audit.record(
        conn,
        who,
        "role.create",
        f"team {team.name}",
        team_id=team_id,
        details={"role": name, "permissions": wanted},
    )
    role = repo.get_role_by_name(conn, team_id, name)
    assert role is not None and role.id == role_id
    return role


def delete_role(conn: Connection, actor: Caller, team_id: int, role_name: str) -> None:
    """Delete a custom role that no member has. Needs: ``role.manage``."""
    principal, who = _caller(conn, actor)
    team = _team_for_change(conn, principal, team_id, Permission.ROLE_MANAGE)
    role = repo.get_role_by_name(conn, team_id, role_name) if isinstance(role_name, str) else None
    if role is None:
        raise NotFound(f"no role named {role_name} in team {team.name}", details={"role": role_name})
    if role.builtin:
        raise Invalid(f"{role.name} is a built-in role and cannot be deleted", details={"role": role.name})
    in_use = repo.count_members_with_role(conn, role.id)
    if in_use:
        raise Conflict(
            f"{in_use} member(s) of team {team.name} have the role {role.name}: give them another role first",
            details={"role": role.name, "members": in_use},
        )
    repo.delete_role(conn, role.id)
    audit.record(
        conn,
        who,
        "role.delete",
        f"team {team.name}",
        team_id=team_id,
        details={"role": role.name, "permissions": list(role.permissions)},
    )
