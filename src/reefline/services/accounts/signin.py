"""Sign-in with a password (rate-limited) and browser sessions."""

from __future__ import annotations

import math

from sqlalchemy import Connection

from reefline.services import audit, credentials
from reefline.services.accounts._common import (
    LOGIN_WINDOW,
    MAX_FAILURES_PER_REMOTE,
    MAX_FAILURES_PER_USERNAME,
    MAX_PASSWORD,
    SESSION_TTL,
    WRONG_CREDENTIALS,
    _now,
    load_principal,
)
from reefline.services.audit import Actor
from reefline.services.permissions import Principal
from reefline.services.types import Invalid, RateLimited, Unauthenticated
from reefline.store import repo_accounts as repo


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
