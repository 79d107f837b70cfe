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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request
from sqlalchemy import Connection

from reefline.server.principals import PrincipalCache
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


async def transaction(request: Request) -> Connection:  # async: no trip through the thread pool
    """The request's transaction, opened by the route's authorization check (:func:`authorizer`),
    which always runs first: committed when the route returns, rolled back when it raises; then the
    route's :func:`after_commit` callbacks run (e.g. waking the engine for a new run)."""
    conn: Connection = request.state.conn
    return conn


def after_commit(request: Request, callback: Callable[[], None]) -> None:
    request.state.after_commit.append(callback)


def permissions_changed(request: Request) -> None:
    """Teams, members or roles change: once committed, principals are loaded afresh."""
    cache: PrincipalCache = request.app.state.principals
    after_commit(request, cache.clear)


def _remote(request: Request) -> str | None:
    return request.client.host if request.client else None


def _principal(request: Request, conn: Connection) -> Principal:
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("the Authorization header must be `Bearer <token>`")
        cache: PrincipalCache = request.app.state.principals
        token = token.strip()
        principal = cache.get(token)
        if principal is None:
            principal = accounts.resolve_token(conn, token, remote=_remote(request))
            cache.put(token, principal)
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        sessions: PrincipalCache = request.app.state.principals
        found = sessions.get_session(cookie)
        if found is None:
            found = accounts.resolve_session(conn, cookie, remote=_remote(request))
            sessions.put_session(cookie, *found)
        principal, csrf = found
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not sent or not hmac.compare_digest(sent, csrf):
                raise Forbidden(f"missing or wrong {CSRF_HEADER} header for a cookie-authenticated change")
        return principal
    raise Unauthenticated("sign in first: `reefline login`, or send `Authorization: Bearer <token>`")


def _team_in_path(request: Request, conn: Connection, principal: Principal) -> int | None:
    """The team owning the path's resource. One not visible to ``principal`` is reported exactly as
    one that does not exist."""
    params = request.path_params
    if "team" in params:
        team_id = repo_scope.team_id_by_name(conn, str(params["team"]))
        missing = NotFound(f"no team {params['team']!r}")
    elif "run_id" in params:
        raw = str(params["run_id"])
        team_id = repo_scope.team_of_run(conn, int(raw)) if raw.isdecimal() and len(raw) < 19 else None
        missing = NotFound(f"no run {raw}")
    else:
        return None
    if team_id is None or not (principal.is_admin or team_id in principal.roles):
        raise missing
    return team_id


Transaction = Annotated[Connection, Depends(transaction)]


def authorizer(permission: str) -> Callable[[Request], Iterator[None]]:
    """The dependency that opens the request's transaction and checks ``permission`` in it (see the
    module docstring), for one route. One dependency, not two: each sync dependency is a trip
    through the thread pool, and that costs more than the check. Declare it with scope "function"
    (``routing.SecureRouter`` does): committed before the response is sent, so a client reads what
    it just wrote."""

    def guarded(request: Request) -> Iterator[None]:
        request.state.after_commit = []
        with database(request).begin() as conn:
            request.state.conn = conn
            check(request, conn)
            yield
        for callback in request.state.after_commit:
            callback()

    def check(request: Request, conn: Connection) -> None:
        remote = _remote(request)
        if permission == PUBLIC:
            request.state.access = Access(None, None, remote)
            return
        principal = _principal(request, conn).with_remote(remote)
        if permission == SITE_ADMIN:
            if not principal.is_admin:
                raise Forbidden("only site admins may do this", details={"permission": SITE_ADMIN})
            request.state.access = Access(principal, None, remote)
            return
        team_id = _team_in_path(request, conn, principal)
        if permission != SIGNED_IN:
            if team_id is None:
                if not principal.is_admin:  # a site-wide resource: site admins only
                    raise Forbidden("only site admins may do this")
            else:
                authorize(principal, team_id, Permission(permission))
        request.state.access = Access(principal, team_id, remote)

    return guarded


async def access(request: Request) -> Access:  # async: no trip through the thread pool
    """The result of the route's authorization check (which always runs first)."""
    found: Access = request.state.access
    return found
