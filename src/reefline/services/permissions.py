"""Who may do what: permissions, the built-in roles, the signed-in ``Principal`` and ``authorize``.

A role is a named set of permissions; a member holds one role per team. The built-in roles are
shared by every team (stored with ``team_id`` NULL) and nest: owner ⊇ maintainer ⊇ developer ⊇ viewer.

=================  ======  ==========  =========  ======
permission         viewer  developer   maintainer owner
=================  ======  ==========  =========  ======
board.read         x       x           x          x
pipeline.read      x       x           x          x
token.manage       x       x           x          x
secret.read                x           x          x
pipeline.edit              x           x          x
pipeline.run               x           x          x
run.cancel                 x           x          x
board.edit                             x          x
secret.write                           x          x
team.manage                            x          x
audit.read                             x          x
role.manage                                       x
=================  ======  ==========  =========  ======

- ``pipeline.read`` covers the pipeline's revisions, runs, jobs, logs and outputs.
- ``secret.read`` shows secret names and scopes, never values (no API returns a value).
- ``team.manage``: add and remove members and change their roles, but never grant more than one
  holds oneself, so a maintainer cannot make an owner.
- ``token.manage`` is a user's own API tokens: every signed-in user has it, member of a team or not.
- A site admin (``users.is_admin``) may do everything in every team.

Deny by default: a permission is held only if the member's role lists it. A team the principal is not
a member of does not exist for it (:func:`authorize` raises ``NotFound``, never ``Forbidden``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from sqlalchemy import Connection

from reefline.services.audit import Actor
from reefline.services.types import Forbidden, NotFound
from reefline.store import repo_accounts


class Permission(StrEnum):
    BOARD_READ = "board.read"
    BOARD_EDIT = "board.edit"
    PIPELINE_READ = "pipeline.read"
    PIPELINE_EDIT = "pipeline.edit"
    PIPELINE_RUN = "pipeline.run"
    RUN_CANCEL = "run.cancel"
    SECRET_READ = "secret.read"
    SECRET_WRITE = "secret.write"
    TEAM_MANAGE = "team.manage"
    ROLE_MANAGE = "role.manage"
    AUDIT_READ = "audit.read"
    TOKEN_MANAGE = "token.manage"


P = Permission
_VIEWER = frozenset({P.BOARD_READ, P.PIPELINE_READ, P.TOKEN_MANAGE})
_DEVELOPER = _VIEWER | {P.SECRET_READ, P.PIPELINE_EDIT, P.PIPELINE_RUN, P.RUN_CANCEL}
_MAINTAINER = _DEVELOPER | {P.BOARD_EDIT, P.SECRET_WRITE, P.TEAM_MANAGE, P.AUDIT_READ}
_OWNER = _MAINTAINER | {P.ROLE_MANAGE}

OWNER = "owner"
BUILTIN_ROLES: dict[str, frozenset[Permission]] = {
    OWNER: frozenset(_OWNER),
    "maintainer": frozenset(_MAINTAINER),
    "developer": frozenset(_DEVELOPER),
    "viewer": frozenset(_VIEWER),
}
ALL_PERMISSIONS: frozenset[Permission] = frozenset(Permission)

# pg_advisory_xact_lock key serializing the seeding of built-in roles ("REEFROLE"): the
# (team_id, name) unique constraint does not hold for team_id NULL.
_PG_ROLES_LOCK = 0x5245_4546_524F_4C45


def parse_permissions(names: object) -> frozenset[Permission]:
    """Permissions from their names; unknown names are dropped (a role stored by a newer version)."""
    if not isinstance(names, list | tuple | set | frozenset):
        return frozenset()
    known = {p.value: p for p in Permission}
    return frozenset(known[name] for name in names if isinstance(name, str) and name in known)


def ensure_builtin_roles(conn: Connection, *, now: float | None = None) -> None:
    """Store the built-in roles (team_id NULL) that are missing, and bring their permissions up to date.

    Idempotent; cheap when they are there (one SELECT). The server calls it at start, and
    ``create_team`` before it needs them.
    """
    stored = {role.name: role for role in reversed(repo_accounts.builtin_roles(conn))}
    if all(
        stored.get(name) and set(stored[name].permissions) == perms for name, perms in BUILTIN_ROLES.items()
    ):
        return
    repo_accounts.lock_builtin_roles(conn, _PG_ROLES_LOCK)
    stored = {role.name: role for role in reversed(repo_accounts.builtin_roles(conn))}  # the first wins
    for name, permissions in BUILTIN_ROLES.items():
        wanted = sorted(p.value for p in permissions)
        role = stored.get(name)
        if role is None:
            created = time.time() if now is None else now
            repo_accounts.insert_role(conn, team_id=None, name=name, permissions=wanted, created_at=created)
        elif list(role.permissions) != wanted:
            repo_accounts.set_role_permissions(conn, role.id, wanted)


@dataclass(frozen=True)
class Principal:
    """A signed-in, active user and what they may do, team by team (see :func:`load_principal`)."""

    user_id: int
    username: str
    is_admin: bool
    roles: Mapping[int, frozenset[Permission]]  # team_id -> permissions of the member's role
    role_names: Mapping[int, str] = field(default_factory=dict)  # team_id -> role name
    remote: str | None = None  # the client address the request came from, for the audit log
    all_teams: frozenset[int] = frozenset()  # a site admin's view: every team when loaded

    def can(self, team_id: int, perm: Permission) -> bool:
        if self.is_admin:
            return True
        return perm in self.roles.get(team_id, frozenset())

    def teams(self) -> set[int]:
        """The teams this principal can see: its memberships (a site admin: every team)."""
        return set(self.roles) | (set(self.all_teams) if self.is_admin else set())

    def holds(self, team_id: int) -> frozenset[Permission]:
        """Every permission held in ``team_id`` (a site admin: all of them)."""
        return ALL_PERMISSIONS if self.is_admin else self.roles.get(team_id, frozenset())

    @property
    def actor(self) -> Actor:
        return Actor(self.user_id, self.remote)

    def with_remote(self, remote: str | None) -> Principal:
        return replace(self, remote=remote)


def authorize(principal: Principal, team_id: int, perm: Permission, *, what: str = "team") -> None:
    """Allow, or raise: ``NotFound`` when the principal is not a member of the team (a thing of
    another team does not exist for them), ``Forbidden`` when it is but its role lacks ``perm``.

    ``what`` names the resource in the not-found message (``"pipeline research/iris"``).
    """
    if principal.is_admin:
        return
    held = principal.roles.get(team_id)
    if held is None:
        raise NotFound(f"{what} not found", details={"team_id": team_id})
    if perm not in held:
        role = principal.role_names.get(team_id)
        yours = f" (your role here: {role})" if role else ""
        raise Forbidden(
            f"you need the {perm} permission in this team{yours}: ask a team maintainer or owner",
            details={"permission": str(perm), "team_id": team_id},
        )


def require_admin(principal: Principal | None, action: str) -> None:
    """Site-wide actions (creating users, …): a site admin or the system (``None``) only."""
    if principal is not None and not principal.is_admin:
        raise Forbidden(f"only a site admin may {action}", details={"permission": "admin"})
