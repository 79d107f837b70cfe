"""Users, teams, roles, memberships, API tokens, sessions and failed sign-ins.

Every function takes an open connection and never commits: callers own the transaction. Secrets are
never here in clear: passwords as argon2 hashes, tokens and session cookies as sha256.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, select, text
from sqlalchemy.pool import NullPool

from reefline.store._util import inserted_id
from reefline.store.db import sqlite_path
from reefline.store.tables import api_tokens, login_failures, memberships, roles, sessions, teams, users


@dataclass(frozen=True, slots=True)
class UserRow:
    """A user, without the password hash (see :func:`password_hash`)."""

    id: int
    username: str
    display_name: str | None
    is_admin: bool
    active: bool
    created_at: float
    has_password: bool


@dataclass(frozen=True, slots=True)
class TeamRow:
    id: int
    name: str
    created_at: float


@dataclass(frozen=True, slots=True)
class RoleRow:
    id: int
    team_id: int | None  # None: a built-in role
    name: str
    permissions: tuple[str, ...]  # sorted names
    created_at: float

    @property
    def builtin(self) -> bool:
        return self.team_id is None


@dataclass(frozen=True, slots=True)
class MemberRow:
    team_id: int
    user_id: int
    username: str
    display_name: str | None
    role_id: int
    role_name: str
    created_at: float


@dataclass(frozen=True, slots=True)
class TokenRow:
    """An API token, without its secret (which is stored only as a hash)."""

    id: int
    user_id: int
    name: str
    prefix: str  # the 8 hex characters after ``rl_``: tells tokens apart in listings
    created_at: float
    expires_at: float | None
    last_used_at: float | None
    revoked_at: float | None


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: int
    user_id: int
    csrf_token: str
    created_at: float
    expires_at: float
    remote: str | None


# --- users ---------------------------------------------------------------------------------------

_USER_COLUMNS = (
    users.c.id,
    users.c.username,
    users.c.display_name,
    users.c.is_admin,
    users.c.active,
    users.c.created_at,
    users.c.password_hash.is_not(None).label("has_password"),
)


def _user(row: Any) -> UserRow:
    return UserRow(**row._mapping)


def insert_user(
    conn: Connection,
    *,
    username: str,
    display_name: str | None,
    password_hash: str | None,
    is_admin: bool,
    created_at: float,
) -> int:
    return inserted_id(
        conn.execute(
            users.insert().values(
                username=username,
                display_name=display_name,
                password_hash=password_hash,
                is_admin=is_admin,
                active=True,
                created_at=created_at,
            )
        )
    )


def get_user(conn: Connection, user_id: int) -> UserRow | None:
    row = conn.execute(select(*_USER_COLUMNS).where(users.c.id == user_id)).first()
    return None if row is None else _user(row)


def get_user_by_name(conn: Connection, username: str) -> UserRow | None:
    row = conn.execute(select(*_USER_COLUMNS).where(users.c.username == username)).first()
    return None if row is None else _user(row)


def list_users(conn: Connection) -> list[UserRow]:
    return [_user(row) for row in conn.execute(select(*_USER_COLUMNS).order_by(users.c.username))]


def password_hash(conn: Connection, user_id: int) -> str | None:
    return conn.execute(select(users.c.password_hash).where(users.c.id == user_id)).scalar()


def update_user(conn: Connection, user_id: int, **values: Any) -> None:
    """Set ``password_hash``, ``display_name``, ``is_admin`` or ``active``."""
    allowed = {"password_hash", "display_name", "is_admin", "active"}
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"users has no settable column(s) {', '.join(sorted(unknown))}")
    conn.execute(users.update().where(users.c.id == user_id).values(**values))


# --- teams ---------------------------------------------------------------------------------------


def insert_team(conn: Connection, *, name: str, created_at: float) -> int:
    return inserted_id(conn.execute(teams.insert().values(name=name, created_at=created_at)))


def get_team(conn: Connection, team_id: int) -> TeamRow | None:
    row = conn.execute(select(teams).where(teams.c.id == team_id)).first()
    return None if row is None else TeamRow(**row._mapping)


def lock_team(conn: Connection, team_id: int) -> bool:
    """Hold the team's row until the transaction ends, so changes to one team's members serialize
    and what is read next stays true; False if there is no such team.

    A no-op UPDATE rather than ``SELECT … FOR UPDATE``: SQLite has no row locks, and pysqlite begins
    the transaction (taking the database's write lock) only at the first write.
    """
    result = conn.execute(teams.update().where(teams.c.id == team_id).values(name=teams.c.name))
    return int(result.rowcount) == 1


def get_team_by_name(conn: Connection, name: str) -> TeamRow | None:
    row = conn.execute(select(teams).where(teams.c.name == name)).first()
    return None if row is None else TeamRow(**row._mapping)


def list_teams(conn: Connection, ids: Iterable[int] | None = None) -> list[TeamRow]:
    """Teams by name; all of them, or those of ``ids``."""
    query = select(teams).order_by(teams.c.name)
    if ids is not None:
        query = query.where(teams.c.id.in_(list(ids)))
    return [TeamRow(**row._mapping) for row in conn.execute(query)]


def all_team_ids(conn: Connection) -> frozenset[int]:
    return frozenset(conn.execute(select(teams.c.id)).scalars())


# --- roles ---------------------------------------------------------------------------------------


def _role(row: Any) -> RoleRow:
    values = dict(row._mapping)
    values["permissions"] = tuple(sorted(str(p) for p in values["permissions"] or ()))
    return RoleRow(**values)


def lock_builtin_roles(conn: Connection, key: int) -> None:
    """Serialize seeding the built-in roles on PostgreSQL (``UNIQUE (team_id, name)`` ignores NULLs)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def insert_role(
    conn: Connection, *, team_id: int | None, name: str, permissions: Iterable[str], created_at: float
) -> int:
    return inserted_id(
        conn.execute(
            roles.insert().values(
                team_id=team_id, name=name, permissions=sorted(permissions), created_at=created_at
            )
        )
    )


def set_role_permissions(conn: Connection, role_id: int, permissions: Iterable[str]) -> None:
    conn.execute(roles.update().where(roles.c.id == role_id).values(permissions=sorted(permissions)))


def builtin_roles(conn: Connection) -> list[RoleRow]:
    """The built-in roles, oldest first (should seeding ever race, the first of a name wins)."""
    query = select(roles).where(roles.c.team_id.is_(None)).order_by(roles.c.id)
    return [_role(row) for row in conn.execute(query)]


def list_roles(conn: Connection, team_id: int) -> list[RoleRow]:
    """The built-in roles, then the team's own, each by name."""
    query = (
        select(roles)
        .where((roles.c.team_id == team_id) | roles.c.team_id.is_(None))
        .order_by(roles.c.team_id.is_not(None), roles.c.name, roles.c.id)
    )
    seen: set[tuple[bool, str]] = set()
    found = []
    for row in conn.execute(query):
        role = _role(row)
        if (role.builtin, role.name) not in seen:
            seen.add((role.builtin, role.name))
            found.append(role)
    return found


def get_role_by_name(conn: Connection, team_id: int, name: str) -> RoleRow | None:
    """The team's role of that name, else the built-in one."""
    query = (
        select(roles)
        .where(roles.c.name == name, (roles.c.team_id == team_id) | roles.c.team_id.is_(None))
        .order_by(roles.c.team_id.is_(None), roles.c.id)
        .limit(1)
    )
    row = conn.execute(query).first()
    return None if row is None else _role(row)


def delete_role(conn: Connection, role_id: int) -> None:
    conn.execute(roles.delete().where(roles.c.id == role_id))


def count_members_with_role(conn: Connection, role_id: int, *, team_id: int | None = None) -> int:
    query = select(func.count()).select_from(memberships).where(memberships.c.role_id == role_id)
    if team_id is not None:
        query = query.where(memberships.c.team_id == team_id)
    return int(conn.execute(query).scalar_one())


# --- memberships ---------------------------------------------------------------------------------

_MEMBER_QUERY = select(
    memberships.c.team_id,
    memberships.c.user_id,
    users.c.username,
    users.c.display_name,
    memberships.c.role_id,
    roles.c.name.label("role_name"),
    memberships.c.created_at,
).select_from(memberships.join(users, memberships.c.user_id == users.c.id).join(roles))


def insert_membership(
    conn: Connection, *, team_id: int, user_id: int, role_id: int, created_at: float
) -> None:
    conn.execute(
        memberships.insert().values(team_id=team_id, user_id=user_id, role_id=role_id, created_at=created_at)
    )


def get_membership(conn: Connection, team_id: int, user_id: int) -> MemberRow | None:
    query = _MEMBER_QUERY.where(memberships.c.team_id == team_id, memberships.c.user_id == user_id)
    row = conn.execute(query).first()
    return None if row is None else MemberRow(**row._mapping)


def list_members(conn: Connection, team_id: int) -> list[MemberRow]:
    query = _MEMBER_QUERY.where(memberships.c.team_id == team_id).order_by(users.c.username)
    return [MemberRow(**row._mapping) for row in conn.execute(query)]


def set_membership_role(conn: Connection, team_id: int, user_id: int, role_id: int) -> None:
    conn.execute(
        memberships.update()
        .where(memberships.c.team_id == team_id, memberships.c.user_id == user_id)
        .values(role_id=role_id)
    )


def delete_membership(conn: Connection, team_id: int, user_id: int) -> None:
    conn.execute(
        memberships.delete().where(memberships.c.team_id == team_id, memberships.c.user_id == user_id)
    )


def user_roles(conn: Connection, user_id: int) -> list[tuple[int, str, tuple[str, ...]]]:
    """``(team_id, role name, permission names)`` of each of the user's memberships."""
    query = (
        select(memberships.c.team_id, roles.c.name, roles.c.permissions)
        .select_from(memberships.join(roles))
        .where(memberships.c.user_id == user_id)
    )
    return [
        (int(team_id), str(name), tuple(str(p) for p in permissions or ()))
        for team_id, name, permissions in conn.execute(query)
    ]


# --- API tokens ----------------------------------------------------------------------------------

_TOKEN_COLUMNS = (
    api_tokens.c.id,
    api_tokens.c.user_id,
    api_tokens.c.name,
    api_tokens.c.prefix,
    api_tokens.c.created_at,
    api_tokens.c.expires_at,
    api_tokens.c.last_used_at,
    api_tokens.c.revoked_at,
)


def insert_token(
    conn: Connection,
    *,
    user_id: int,
    name: str,
    token_hash: str,
    prefix: str,
    created_at: float,
    expires_at: float | None,
) -> int:
    return inserted_id(
        conn.execute(
            api_tokens.insert().values(
                user_id=user_id,
                name=name,
                token_hash=token_hash,
                prefix=prefix,
                created_at=created_at,
                expires_at=expires_at,
            )
        )
    )


def get_token(conn: Connection, token_id: int) -> TokenRow | None:
    row = conn.execute(select(*_TOKEN_COLUMNS).where(api_tokens.c.id == token_id)).first()
    return None if row is None else TokenRow(**row._mapping)


def get_token_by_hash(conn: Connection, token_hash: str) -> TokenRow | None:
    row = conn.execute(select(*_TOKEN_COLUMNS).where(api_tokens.c.token_hash == token_hash)).first()
    return None if row is None else TokenRow(**row._mapping)


def list_tokens(conn: Connection, user_id: int) -> list[TokenRow]:
    query = select(*_TOKEN_COLUMNS).where(api_tokens.c.user_id == user_id).order_by(api_tokens.c.id)
    return [TokenRow(**row._mapping) for row in conn.execute(query)]


def update_token(conn: Connection, token_id: int, **values: float | None) -> None:
    """Set ``last_used_at`` or ``revoked_at``."""
    unknown = set(values) - {"last_used_at", "revoked_at"}
    if unknown:
        raise ValueError(f"api_tokens has no settable column(s) {', '.join(sorted(unknown))}")
    conn.execute(api_tokens.update().where(api_tokens.c.id == token_id).values(**values))


# --- sessions ------------------------------------------------------------------------------------

_SESSION_COLUMNS = (
    sessions.c.id,
    sessions.c.user_id,
    sessions.c.csrf_token,
    sessions.c.created_at,
    sessions.c.expires_at,
    sessions.c.remote,
)


def insert_session(
    conn: Connection,
    *,
    user_id: int,
    token_hash: str,
    csrf_token: str,
    created_at: float,
    expires_at: float,
    remote: str | None,
) -> int:
    return inserted_id(
        conn.execute(
            sessions.insert().values(
                user_id=user_id,
                token_hash=token_hash,
                csrf_token=csrf_token,
                created_at=created_at,
                expires_at=expires_at,
                remote=remote,
            )
        )
    )


def get_session_by_hash(conn: Connection, token_hash: str) -> SessionRow | None:
    row = conn.execute(select(*_SESSION_COLUMNS).where(sessions.c.token_hash == token_hash)).first()
    return None if row is None else SessionRow(**row._mapping)


def delete_session(conn: Connection, session_id: int) -> None:
    conn.execute(sessions.delete().where(sessions.c.id == session_id))


def delete_sessions(conn: Connection, user_id: int, *, expired_before: float | None = None) -> int:
    """Delete the user's sessions (only those expired before ``expired_before`` when given)."""
    query = sessions.delete().where(sessions.c.user_id == user_id)
    if expired_before is not None:
        query = query.where(sessions.c.expires_at <= expired_before)
    return int(conn.execute(query).rowcount)


# --- failed sign-ins -----------------------------------------------------------------------------

_SIDE_ENGINES: dict[str, Engine] = {}


@contextmanager
def beside(conn: Connection) -> Iterator[Connection]:
    """A connection for a small write committed on its own, beside the caller's open transaction
    (a sign-in attempt that must outlive its rollback, a token's last use that must not make the
    whole request a writer). Committed when the block ends.

    Exception: on SQLite, when the caller's transaction has written already it holds the database's
    write lock, which a second connection would wait for in vain; the write then joins the
    caller's transaction (and shares its fate).
    """
    if conn.dialect.name == "sqlite" and getattr(conn.connection.dbapi_connection, "in_transaction", False):
        yield conn
        return
    with _side_engine(conn.engine).begin() as own:
        yield own


def _side_engine(engine: Engine) -> Engine:
    """An unpooled engine on the same database. A second connection from the caller's own pool could
    exhaust it under a burst of requests (each caller holds one while it waits for the other); a
    private one per write cannot."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and sqlite_path(url.render_as_string(hide_password=False)) is None:
        return engine  # in memory: one shared connection, another engine would see another database
    key = url.render_as_string(hide_password=False)
    found = _SIDE_ENGINES.get(key)
    if found is None:
        found = create_engine(url, poolclass=NullPool)
        if url.get_backend_name() == "sqlite":
            event.listen(found, "connect", _wait_for_locks)
        found = _SIDE_ENGINES.setdefault(key, found)
    return found


def _wait_for_locks(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout=10000")
    finally:
        cursor.close()


def insert_login_failure(conn: Connection, *, username: str, remote: str | None, at: float) -> int:
    return inserted_id(conn.execute(login_failures.insert().values(username=username, remote=remote, at=at)))


def delete_login_failure(conn: Connection, failure_id: int) -> None:
    conn.execute(login_failures.delete().where(login_failures.c.id == failure_id))


def login_failures_since(
    conn: Connection, since: float, *, username: str | None = None, remote: str | None = None
) -> list[tuple[int, float]]:
    """``(id, at)`` of the failed sign-ins after ``since`` for a username or from a remote, oldest first."""
    query = (
        select(login_failures.c.id, login_failures.c.at)
        .where(login_failures.c.at > since)
        .order_by(login_failures.c.at, login_failures.c.id)
    )
    if username is not None:
        query = query.where(login_failures.c.username == username)
    if remote is not None:
        query = query.where(login_failures.c.remote == remote)
    return [(int(failure_id), float(at)) for failure_id, at in conn.execute(query)]


def delete_login_failures(
    conn: Connection, *, username: str | None = None, before: float | None = None
) -> None:
    """Forget a username's failures (after it signed in), or every failure older than ``before``."""
    if username is None and before is None:
        raise ValueError("name a username or a time")
    query = login_failures.delete()
    if username is not None:
        query = query.where(login_failures.c.username == username)
    if before is not None:
        query = query.where(login_failures.c.at < before)
    conn.execute(query)
