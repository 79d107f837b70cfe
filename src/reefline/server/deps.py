"""Request-scoped dependencies: the database transaction, who is asking, and what they may do.

Every route declares what it needs (``routing.SecureRouter``); the check below runs before the route:

- ``PUBLIC``: nobody needs to sign in (health, sign-in);
- ``SIGNED_IN``: any signed-in user (their own profile and tokens, creating a team, validating YAML);
- ``SITE_ADMIN``: site admins only (what spans every team, such as collecting the artifact store);
- a :class:`~reefline.services.permissions.Permission`: the caller's role in the team that owns the
  resource (named by the path's ``{team}``, or found from its ``{run_id}``) must grant it. A resource
  of a team the caller is not in is a 404, exactly like one that does not exist.

Credentials: ``Authorization: Bearer <token>`` (CLI, SDK, editor) or the session cookie (browser). A
cookie-authenticated request that changes something must echo the session's CSRF token in
``X-CSRF-Token``.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from reefline.server.principals import PrincipalCache
from reefline.server.scopes import ScopeCache
from reefline.services import accounts
from reefline.services.audit import Actor
from reefline.services.permissions import Permission, Principal, authorize
from reefline.services.types import Forbidden, NotFound, Unauthenticated
from reefline.store import repo_scope

PUBLIC = "public"
SIGNED_IN = "signed-in"
SITE_ADMIN = "site-admin"
SESSION_COOKIE = "reefline_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Access:
    """What the authorization check established for this request."""

    principal: Principal | None
    team_id: int | None
    remote: str | None

    @property
    def actor(self) -> Actor:
        return Actor(self.principal.user_id if self.principal else None, self.remote)

    @property
    def team(self) -> int:
        if self.team_id is None:  # only routes without {team} or {run_id} have none, and they do not ask
            raise NotFound("no team in this route")
        return self.team_id

    @property
    def user(self) -> Principal:
        if self.principal is None:  # only PUBLIC routes have none, and they do not ask
            raise Unauthenticated("sign in first")
        return self.principal


def database(request: Request) -> sa.Engine:
    engine: sa.Engine = request.app.state.db
    return engine


async def transaction(request: Request) -> Connection:
    """Stands for the request's transaction in a route's signature (``Transaction``): a plain route
    gets it from ``routing.SecureRouter``, which opens it in the same trip through the thread pool
    that runs the route, commits it when the route returns (rolls it back when it raises), then
    runs the route's :func:`after_commit` callbacks (e.g. waking the engine for a new run)."""
    raise RuntimeError(f"{request.url.path}: only a plain (def) route of a SecureRouter takes a Transaction")


def after_commit(request: Request, callback: Callable[[], None]) -> None:
    request.state.after_commit.append(callback)


def permissions_changed(request: Request) -> None:
    """Teams, members or roles change: once committed, principals are loaded afresh."""
    cache: PrincipalCache = request.app.state.principals
    after_commit(request, cache.clear)


def _remote(request: Request) -> str | None:
    return request.client.host if request.client else None


class _NeedsDatabase(Exception):
    """What this process remembers does not answer the check: it must read the database."""


class _Lookups:
    """What the check reads: what the process remembers first, then ``conn`` (None: nothing else)."""

    def __init__(self, request: Request, conn: Connection | None) -> None:
        self.principals: PrincipalCache = request.app.state.principals
        self.scopes: ScopeCache = request.app.state.scopes
        self._conn = conn

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            raise _NeedsDatabase
        return self._conn


def _principal(request: Request, found: _Lookups) -> Principal:
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("the Authorization header must be `Bearer <token>`")
        token = token.strip()
        principal = found.principals.get(token)
        if principal is None:
            principal = accounts.resolve_token(found.conn, token, remote=_remote(request))
            found.principals.put(token, principal)
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        session = found.principals.get_session(cookie)
        if session is None:
            session = accounts.resolve_session(found.conn, cookie, remote=_remote(request))
            found.principals.put_session(cookie, *session)
        principal, csrf = session
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not sent or not hmac.compare_digest(sent, csrf):
                raise Forbidden(f"missing or wrong {CSRF_HEADER} header for a cookie-authenticated change")
        return principal
    raise Unauthenticated("sign in first: `reefline login`, or send `Authorization: Bearer <token>`")


def _team_in_path(request: Request, found: _Lookups, principal: Principal) -> int | None:
    """The team owning the path's resource. One not visible to ``principal`` is reported exactly as
    one that does not exist."""
    params = request.path_params
    if "team" in params:
        name = str(params["team"])
        team_id = found.scopes.teams.get(name, lambda: repo_scope.team_id_by_name(found.conn, name))
        missing = NotFound(f"no team {name!r}")
    elif "run_id" in params:
        raw = str(params["run_id"])
        team_id = None
        if raw.isdecimal() and len(raw) < 19:
            run_id = int(raw)
            team_id = found.scopes.runs.get(run_id, lambda: repo_scope.team_of_run(found.conn, run_id))
        missing = NotFound(f"no run {raw}")
    else:
        return None
    if team_id is None or not (principal.is_admin or team_id in principal.roles):
        raise missing
    return team_id


Transaction = Annotated[Connection, Depends(transaction)]


def _check(request: Request, permission: str, found: _Lookups) -> Access:
    remote = _remote(request)
    if permission == PUBLIC:
        return Access(None, None, remote)
    principal = _principal(request, found).with_remote(remote)
    if permission == SITE_ADMIN:
        if not principal.is_admin:
            raise Forbidden("only site admins may do this", details={"permission": SITE_ADMIN})
        return Access(principal, None, remote)
    team_id = _team_in_path(request, found, principal)
    if permission != SIGNED_IN:
        if team_id is None:
            if not principal.is_admin:  # a site-wide resource: site admins only
                raise Forbidden("only site admins may do this")
        else:
            authorize(principal, team_id, Permission(permission))
    return Access(principal, team_id, remote)


def _check_in_database(request: Request, permission: str) -> Access:
    with database(request).begin() as conn:  # its own transaction: resolving a token records its use
        return _check(request, permission, _Lookups(request, conn))


def authorizer(permission: str) -> Callable[[Request], Awaitable[None]]:
    """The dependency that checks ``permission`` for one route, before its parameters and body are
    read: a caller who may not call it learns nothing about what it takes. Usually from what the
    process remembers (who a token is, which team a run belongs to), on the event loop; else in
    a trip through the thread pool, with a connection of its own that it gives back at once (one
    held until the route's own trip could leave every thread waiting for a connection)."""

    async def guarded(request: Request) -> None:
        try:
            request.state.access = _check(request, permission, _Lookups(request, None))
        except _NeedsDatabase:
            request.state.access = await run_in_threadpool(_check_in_database, request, permission)

    return guarded


async def access(request: Request) -> Access:  # async: no trip through the thread pool
    """The result of the route's authorization check (which always runs first)."""
    found: Access = request.state.access
    return found
