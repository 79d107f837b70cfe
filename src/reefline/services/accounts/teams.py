"""Accounts: users, sign-in, sessions, API tokens, teams, members and roles.

Every verb takes a connection first and never commits (:func:`authenticate` records each attempt
in a transaction of its own, see there).
Mutating verbs take the caller as ``actor``, either

- a :class:`Principal` (the API: a signed-in user; its ``remote`` goes to the audit log),
- an :class:`Actor` of a user: the principal is loaded from the store, so it is checked the same way,
- ``Actor.system()`` (the admin CLI on the server's machine): allowed everything.

and check themselves what the caller may do (the permission each needs is in its docstring), and
record one audit entry per change, in the caller's transaction. Secrets never reach the audit log.
"""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from reefline.services import audit, credentials
from reefline.services.audit import Actor
from reefline.services.permissions import (
    BUILTIN_ROLES,
    OWNER,
    Permission,
    Principal,
    authorize,
    ensure_builtin_roles,
    parse_permissions,
    require_admin,
)
from reefline.services.types import Conflict, Forbidden, Invalid, NotFound, RateLimited, Unauthenticated
from reefline.store import repo_accounts as repo
from reefline.store.repo_accounts import MemberRow, RoleRow, TeamRow, TokenRow, UserRow

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


def _check_password(password: object) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise Invalid(f"a password needs at least {MIN_PASSWORD} characters", details={"field": "password"})
    if len(password) > MAX_PASSWORD:
        raise Invalid(f"a password has at most {MAX_PASSWORD} characters", details={"field": "password"})
    return password


# --- users ---------------------------------------------------------------------------------------


def create_user(
    conn: Connection,
    actor: Caller,
    username: str,
    *,
    password: str | None = None,
    is_admin: bool = False,
    display_name: str | None = None,
    now: float | None = None,
) -> UserRow:
    """A new active user; without a password it signs in with API tokens only. Needs: a site admin."""
    principal, who = _caller(conn, actor)
    require_admin(principal, "create users")
    check_name("user", username)
    hashed = credentials.hash_password(_check_password(password)) if password is not None else None
    shown = (display_name or "").strip() or None
    if shown is not None and len(shown) > 200:
        raise Invalid("a display name has at most 200 characters", details={"field": "display_name"})
    if repo.get_user_by_name(conn, username) is not None:
        raise Conflict(f"a user named {username} exists already", details={"username": username})
    try:
        user_id = repo.insert_user(
            conn,
            username=username,
            display_name=shown,
            password_hash=hashed,
            is_admin=is_admin,
            created_at=_now(now),
        )
    except IntegrityError as exc:  # created meanwhile by another request
        raise Conflict(f"a user named {username} exists already", details={"username": username}) from exc
    audit.record(
        conn, who, "user.create", f"user {username}", details={"is_admin": is_admin, "password": bool(hashed)}
    )
    return get_user(conn, user_id)


def get_user(conn: Connection, user_id: int) -> UserRow:
    user = repo.get_user(conn, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}", details={"user_id": user_id})
    return user


def find_user(conn: Connection, username: str) -> UserRow:
    user = repo.get_user_by_name(conn, username)
    if user is None:
        raise NotFound(f"no user named {username}", details={"username": username})
    return user


def list_users(conn: Connection) -> list[UserRow]:
    """Every user by name (the API shows it to site admins)."""
    return repo.list_users(conn)


def set_password(
    conn: Connection, actor: Caller, user_id: int, new_password: str, *, current_password: str | None = None
) -> None:
    """Set a user's password and end all their sessions (they sign in again).

    Needs: the user themselves, with ``current_password``; or a site admin (no current password).
    """
    principal, who = _caller(conn, actor)
    user = get_user(conn, user_id)
    if principal is not None and not principal.is_admin:
        if principal.user_id != user_id:
            raise Forbidden("only a site admin may set another user's password")
        stored = repo.password_hash(conn, user_id)
        if (
            current_password is None
            or stored is None
            or not credentials.verify_password(stored, current_password)
        ):
            raise Forbidden("the current password is wrong", details={"field": "current_password"})
    repo.update_user(conn, user_id, password_hash=credentials.hash_password(_check_password(new_password)))
    repo.delete_sessions(conn, user_id)
    audit.record(conn, who, "user.password", f"user {user.username}")


def deactivate_user(conn: Connection, actor: Caller, user_id: int) -> UserRow:
    """Deactivate a user: their sessions end, their tokens stop working, sign-in is refused.
    Needs: a site admin (not on their own account)."""
    principal, who = _caller(conn, actor)
    require_admin(principal, "deactivate users")
    user = get_user(conn, user_id)
    if principal is not None and principal.user_id == user_id:
        raise Conflict("you cannot deactivate your own account: ask another site admin")
    if not user.active:
        return user
    repo.update_user(conn, user_id, active=False)
    repo.delete_sessions(conn, user_id)
    audit.record(conn, who, "user.deactivate", f"user {user.username}")
    return get_user(conn, user_id)


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


# --- sign-in -------------------------------------------------------------------------------------


def _wait_text(seconds: int) -> str:
    if seconds < 90:
        return "1 second" if seconds == 1 else f"{seconds} seconds"
    return f"{math.ceil(seconds / 60)} minutes"


def _check_rate(conn: Connection, username: str, remote: str | None, now: float, attempt: int | None) -> None:
    """``RateLimited`` when the failures in the window, besides ``attempt``, reach a limit."""
    since = now - LOGIN_WINDOW
    waits: list[tuple[float, str]] = []
    checks = [(f"for {username}", {"username": username}, MAX_FAILURES_PER_USERNAME)]
    if remote is not None:
        checks.append(("from your address", {"remote": remote}, MAX_FAILURES_PER_REMOTE))
    for whose, where, limit in checks:
        others = [
            at for failure_id, at in repo.login_failures_since(conn, since, **where) if failure_id != attempt
        ]
        if len(others) >= limit:
            waits.append((others[-limit] + LOGIN_WINDOW - now, whose))
    if waits:
        wait, whose = max(waits)
        seconds = max(1, math.ceil(wait))
        raise RateLimited(
            f"too many failed sign-ins {whose}: try again in {_wait_text(seconds)}",
            details={"retry_after": seconds},
        )


def authenticate(
    conn: Connection, username: str, password: str, remote: str | None, *, now: float | None = None
) -> Principal:
    """The principal of a username and password, or ``Unauthenticated("wrong username or password")``
    (the same for an unknown user, whose check takes as long), or ``RateLimited`` after 5 failures
    for the username, or 20 from ``remote``, in 15 minutes (then even the right password is refused).

    Each attempt is recorded as a failure in a transaction of its own, committed before the password
    is checked: parallel guesses count at once, and the caller's rollback (it raises) cannot forget
    them (on SQLite only if the caller's transaction has not written yet: call this first). Success
    forgets the username's failures, its own attempt included, and rehashes a password hashed with
    older parameters. Needs: nothing.
    """
    at = _now(now)
    name = username.strip().lower()[:100] if isinstance(username, str) else ""
    password = password if isinstance(password, str) else ""
    _check_rate(conn, name, remote, at, None)  # refused without writing anything
    with repo.beside(conn) as own:
        attempt = repo.insert_login_failure(own, username=name, remote=remote, at=at)
        repo.delete_login_failures(own, before=at - LOGIN_WINDOW)
    try:
        _check_rate(conn, name, remote, at, attempt)  # counts the attempts made meanwhile
    except RateLimited:
        with repo.beside(conn) as own:
            repo.delete_login_failure(own, attempt)  # a refused attempt does not prolong the wait
        raise
    user = repo.get_user_by_name(conn, name) if name else None
    stored = repo.password_hash(conn, user.id) if user is not None else None
    if user is None or stored is None or len(password) > MAX_PASSWORD:
        credentials.burn_verify(password[:MAX_PASSWORD])
        raise Unauthenticated(WRONG_CREDENTIALS)
    if not credentials.verify_password(stored, password):
        raise Unauthenticated(WRONG_CREDENTIALS)
    if not user.active:
        raise Unauthenticated("this account is deactivated: ask a site admin")
    repo.delete_login_failures(conn, username=name)
    if credentials.needs_rehash(stored):
        repo.update_user(conn, user.id, password_hash=credentials.hash_password(password))
    return load_principal(conn, user.id).with_remote(remote)


# --- sessions (the browser) ----------------------------------------------------------------------


def create_session(
    conn: Connection, user_id: int, remote: str | None, ttl: float = SESSION_TTL, *, now: float | None = None
) -> tuple[str, str]:
    """A new session for a signed-in user: ``(cookie value, CSRF token)``, both shown only now.

    The store keeps the sha256 of the cookie value, never the value. Audited as ``session.create``.
    """
    at = _now(now)
    user = repo.get_user(conn, user_id)
    if user is None or not user.active:
        raise Unauthenticated("this account does not exist or is deactivated: ask a site admin")
    if not ttl > 0:
        raise Invalid("a session lasts a positive number of seconds")
    cookie, csrf = credentials.new_session_secret(), credentials.new_csrf_token()
    repo.delete_sessions(conn, user_id, expired_before=at)
    repo.insert_session(
        conn,
        user_id=user_id,
        token_hash=credentials.sha256_hex(cookie),
        csrf_token=csrf,
        created_at=at,
        expires_at=at + ttl,
        remote=remote,
    )
    audit.record(conn, Actor(user_id, remote), "session.create", f"user {user.username}")
    return cookie, csrf


def resolve_session(
    conn: Connection, cookie_value: str | None, *, remote: str | None = None, now: float | None = None
) -> tuple[Principal, str]:
    """``(principal, the session's CSRF token)`` of a session cookie, or ``Unauthenticated``
    (no such session, expired, or the user is deactivated). Compare the request's CSRF token with
    :func:`reefline.services.credentials.check_csrf`."""
    if not cookie_value or not isinstance(cookie_value, str) or len(cookie_value) > 200:
        raise Unauthenticated("not signed in")
    session = repo.get_session_by_hash(conn, credentials.sha256_hex(cookie_value))
    if session is None:
        raise Unauthenticated("your session ended (signed out or replaced): sign in again")
    if session.expires_at <= _now(now):
        raise Unauthenticated("your session expired: sign in again")
    return load_principal(conn, session.user_id).with_remote(remote), session.csrf_token


def end_session(conn: Connection, cookie_value: str | None, *, remote: str | None = None) -> None:
    """Sign out: the session is deleted (an unknown one is no error). Audited as ``session.end``."""
    if not cookie_value or not isinstance(cookie_value, str) or len(cookie_value) > 200:
        return
    session = repo.get_session_by_hash(conn, credentials.sha256_hex(cookie_value))
    if session is None:
        return
    repo.delete_session(conn, session.id)
    user = repo.get_user(conn, session.user_id)
    target = f"user {user.username}" if user else f"user {session.user_id}"
    audit.record(conn, Actor(session.user_id, remote), "session.end", target)


# --- API tokens ----------------------------------------------------------------------------------


def _check_own(principal: Principal | None, user_id: int) -> None:
    """Tokens are personal (``token.manage``, held by every user): one's own, or a site admin's."""
    if principal is not None and not principal.is_admin and principal.user_id != user_id:
        raise Forbidden("you may manage only your own API tokens", details={"permission": "token.manage"})


def create_token(
    conn: Connection,
    actor: Caller,
    user_id: int,
    name: str,
    *,
    expires_in_days: int | None = None,
    now: float | None = None,
) -> tuple[TokenRow, str]:
    """A new API token for the user: ``(its row, the clear token)``. The clear token
    (``rl_<8 hex>_<43 urlsafe chars>``) is shown this once; only its sha256 is stored.

    Needs: the user themselves, or a site admin. Names are unique among the user's live tokens.
    """
    principal, who = _caller(conn, actor)
    _check_own(principal, user_id)
    at = _now(now)
    user = get_user(conn, user_id)
    if not user.active:
        raise Invalid(f"{user.username} is deactivated: tokens would not work")
    label = name.strip() if isinstance(name, str) else ""
    if not label or len(label) > 100 or not label.isprintable():
        raise Invalid("a token name is 1 to 100 printable characters, e.g. 'ci' or 'laptop'")
    if expires_in_days is not None and (
        isinstance(expires_in_days, bool)
        or not isinstance(expires_in_days, int)
        or not 1 <= expires_in_days <= MAX_TOKEN_DAYS
    ):
        raise Invalid(f"a token expires in 1 to {MAX_TOKEN_DAYS} days (or never)")
    for token in repo.list_tokens(conn, user_id):
        live = token.revoked_at is None and (token.expires_at is None or token.expires_at > at)
        if live and token.name == label:
            raise Conflict(
                f"{user.username} has a token named {label!r} already: revoke it or choose another name",
                details={"token_id": token.id},
            )
    clear, prefix, digest = credentials.new_token()
    expires_at = at + expires_in_days * 86400 if expires_in_days is not None else None
    token_id = repo.insert_token(
        conn,
        user_id=user_id,
        name=label,
        token_hash=digest,
        prefix=prefix,
        created_at=at,
        expires_at=expires_at,
    )
    audit.record(
        conn,
        who,
        "token.create",
        f"token {label} of user {user.username}",
        details={"token_id": token_id, "prefix": prefix, "expires_at": expires_at},
    )
    row = repo.get_token(conn, token_id)
    assert row is not None
    return row, clear


def list_tokens(conn: Connection, user_id: int) -> list[TokenRow]:
    """The user's tokens, oldest first, revoked and expired ones included; never a secret."""
    return repo.list_tokens(conn, user_id)


def revoke_token(
    conn: Connection, actor: Caller, user_id: int, token_id: int, *, now: float | None = None
) -> TokenRow:
    """Revoke one of the user's tokens (revoking it again changes nothing).
    Needs: the user themselves, or a site admin."""
    principal, who = _caller(conn, actor)
    _check_own(principal, user_id)
    token = repo.get_token(conn, token_id)
    if token is None or token.user_id != user_id:
        raise NotFound(f"no token {token_id} for this user", details={"token_id": token_id})
    if token.revoked_at is not None:
        return token
    repo.update_token(conn, token_id, revoked_at=_now(now))
    user = get_user(conn, user_id)
    audit.record(
        conn,
        who,
        "token.revoke",
        f"token {token.name} of user {user.username}",
        details={"token_id": token_id, "prefix": token.prefix},
    )
    row = repo.get_token(conn, token_id)
    assert row is not None
    return row


def resolve_token(
    conn: Connection, clear: str | None, *, remote: str | None = None, now: float | None = None
) -> Principal:
    """The principal of an ``Authorization: Bearer`` token, or ``Unauthenticated`` (malformed, unknown,
    revoked, expired, or its user deactivated). Notes ``last_used_at`` at most once a minute."""
    at = _now(now)
    parsed = credentials.parse_token(clear) if isinstance(clear, str) and len(clear) <= 300 else None
    if parsed is None:
        raise Unauthenticated("not a Reefline API token (they look like rl_0123abcd_…)")
    prefix, digest = parsed
    token = repo.get_token_by_hash(conn, digest)
    if token is None or not credentials.same(token.prefix, prefix):
        raise Unauthenticated("unknown API token: create a new one")
    if token.revoked_at is not None:
        raise Unauthenticated(f"the API token {token.name!r} was revoked: create a new one")
    if token.expires_at is not None and token.expires_at <= at:
        day = datetime.fromtimestamp(token.expires_at, tz=UTC).strftime("%Y-%m-%d")
        raise Unauthenticated(f"the API token {token.name!r} expired on {day}: create a new one")
    principal = load_principal(conn, token.user_id)
    if token.last_used_at is None or at - token.last_used_at >= TOKEN_TOUCH_INTERVAL:
        # Not in the caller's transaction: that would make every request a writer (on SQLite,
        # holding the database's write lock for as long as the request lasts).
        with repo.beside(conn) as own:
            repo.update_token(own, token.id, last_used_at=at)
    return principal.with_remote(remote)


# --- teams and members ---------------------------------------------------------------------------


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


# --- roles ---------------------------------------------------------------------------------------


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
