"""Personal API tokens: create, list, revoke, and resolve a bearer token."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection

from reefline.services import audit, credentials
from reefline.services.accounts._common import (
    MAX_TOKEN_DAYS,
    TOKEN_TOUCH_INTERVAL,
    Caller,
    _caller,
    _now,
    load_principal,
)
from reefline.services.accounts.users import get_user
from reefline.services.audit import Actor
from reefline.services.permissions import Principal
from reefline.services.types import Conflict, Forbidden, Invalid, NotFound, Unauthenticated
from reefline.store import repo_accounts as repo
from reefline.store.repo_accounts import TokenRow


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


def revoke_presented_token(
    conn: Connection, clear: str | None, *, remote: str | None = None, now: float | None = None
) -> TokenRow | None:
    """Sign a client out: revoke the token it authenticated with (``reefline logout``). None when it
    is not a known, live token. Audited as ``token.revoke``."""
    parsed = credentials.parse_token(clear) if isinstance(clear, str) and len(clear) <= 300 else None
    token = repo.get_token_by_hash(conn, parsed[1]) if parsed is not None else None
    if token is None or parsed is None or not credentials.same(token.prefix, parsed[0]):
        return None
    if token.revoked_at is not None:
        return None
    repo.update_token(conn, token.id, revoked_at=_now(now))
    user = get_user(conn, token.user_id)
    audit.record(
        conn,
        Actor(token.user_id, remote),
        "token.revoke",
        f"token {token.name} of user {user.username}",
        details={"token_id": token.id, "prefix": token.prefix, "by": "logout"},
    )
    return repo.get_token(conn, token.id)


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
