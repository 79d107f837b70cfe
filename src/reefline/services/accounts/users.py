"""Users: create, find, list, set a password, deactivate."""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from reefline.services import audit, credentials
from reefline.services.accounts._common import MAX_PASSWORD, MIN_PASSWORD, Caller, _caller, _now, check_name
from reefline.services.permissions import require_admin
from reefline.services.types import Conflict, Forbidden, Invalid, NotFound
from reefline.store import repo_accounts as repo
from reefline.store.repo_accounts import UserRow


def _check_password(password: object) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise Invalid(f"a password needs at least {MIN_PASSWORD} characters", details={"field": "password"})
    if len(password) > MAX_PASSWORD:
        raise Invalid(f"a password has at most {MAX_PASSWORD} characters", details={"field": "password"})
    return password


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
