"""What the accounts modules share: the caller, the limits, name checks, a user's principal."""

from __future__ import annotations

import re
import time

from sqlalchemy import Connection

from reefline.services.audit import Actor
from reefline.services.permissions import Permission, Principal, authorize, parse_permissions
from reefline.services.types import Invalid, NotFound, Unauthenticated
from reefline.store import repo_accounts as repo
from reefline.store.repo_accounts import TeamRow

Caller = Principal | Actor

NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 hashes any length; this only keeps a request from being a DoS
SESSION_TTL = 12 * 3600.0
LOGIN_WINDOW = 15 * 60.0
MAX_FAILURES_PER_USERNAME = 5
MAX_FAILURES_PER_REMOTE = 20
TOKEN_TOUCH_INTERVAL = 60.0  # last_used_at is written at most this often per token
MAX_TOKEN_DAYS = 3650
WRONG_CREDENTIALS = "wrong username or password"


def _now(now: float | None) -> float:
    return time.time() if now is None else now


def _caller(conn: Connection, actor: Caller) -> tuple[Principal | None, Actor]:
    """The principal to check (None: the system) and the actor to audit."""
    if isinstance(actor, Principal):
        return actor, actor.actor
    if actor.user_id is None:
        return None, actor
    return load_principal(conn, actor.user_id).with_remote(actor.remote), actor


def check_name(kind: str, value: object) -> str:
    """A user, team or role name: ``^[a-z0-9][a-z0-9._-]{0,62}$``, else ``Invalid`` saying what to change."""
    if not isinstance(value, str) or not value:
        raise Invalid(f"a {kind} name cannot be empty", details={"field": kind})
    if NAME_PATTERN.fullmatch(value):
        return value
    if len(value) > 63:
        problem = f"is too long ({len(value)} characters, at most 63)"
    elif NAME_PATTERN.fullmatch(value.lower()):
        problem = f"has capital letters: use {value.lower()!r}"
    elif not re.match(r"[a-z0-9]", value):
        problem = "must start with a lowercase letter or a digit"
    else:
        bad = sorted({c for c in value if not re.match(r"[a-z0-9._-]", c)})
        problem = (
            f"may hold only lowercase letters, digits, '.', '_' and '-' (not {' '.join(map(repr, bad))})"
        )
    raise Invalid(f"the {kind} name {value!r} {problem}", details={"field": kind})


def load_principal(conn: Connection, user_id: int) -> Principal:
    """The user's principal, with the permissions of each of their memberships, as stored now.

    An unknown or deactivated user is ``Unauthenticated``: whatever credential named them is void.
    """
    user = repo.get_user(conn, user_id)
    if user is None or not user.active:
        raise Unauthenticated("this account does not exist or is deactivated: ask a site admin")
    roles: dict[int, frozenset[Permission]] = {}
    names: dict[int, str] = {}
    for team_id, role_name, permissions in repo.user_roles(conn, user_id):
        roles[team_id] = parse_permissions(list(permissions))
        names[team_id] = role_name
    return Principal(
        user_id=user.id,
        username=user.username,
        is_admin=user.is_admin,
        roles=roles,
        role_names=names,
        all_teams=repo.all_team_ids(conn) if user.is_admin else frozenset(),
    )


def _team_for_change(
    conn: Connection, principal: Principal | None, team_id: int, perm: Permission | None
) -> TeamRow:
    """The team, locked; ``perm`` None: being a member is enough."""
    if principal is not None:
        if perm is not None:
            authorize(principal, team_id, perm)
        elif not principal.is_admin and team_id not in principal.roles:
            raise NotFound("team not found", details={"team_id": team_id})
    team = repo.get_team(conn, team_id) if repo.lock_team(conn, team_id) else None
    if team is None:
        raise NotFound("team not found", details={"team_id": team_id})
    return team
