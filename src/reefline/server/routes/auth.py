"""Signing in and out (browser sessions), the caller's profile and their API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response
from pydantic import BaseModel, Field

from reefline.server.deps import PUBLIC, SESSION_COOKIE, SIGNED_IN, Access, Transaction, access, after_commit
from reefline.server.models import LABEL_RULE, MeOut, TeamRoleOut, TokenOut
from reefline.server.routing import SecureRouter
from reefline.services import accounts
from reefline.services.permissions import Principal

router = SecureRouter(tags=["auth"])
Caller = Annotated[Access, Depends(access)]


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1024)


class LoginOut(BaseModel):
    user: MeOut
    csrf_token: str = Field(description="send it back as X-CSRF-Token on every change made with the cookie")


class NewTokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, json_schema_extra=LABEL_RULE)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class NewTokenOut(BaseModel):
    token: TokenOut
    secret: str = Field(description="the token itself: shown once, never again")


def _me(conn: Transaction, principal: Principal) -> MeOut:
    user = accounts.get_user(conn, principal.user_id)
    teams = accounts.list_teams_for(conn, principal)
    return MeOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        is_admin=user.is_admin,
        teams=[TeamRoleOut(name=t.name, role=principal.role_names.get(t.id)) for t in teams],
    )


@router.post("/auth/login", permission=PUBLIC, response_model=LoginOut)
def login(body: LoginIn, request: Request, response: Response, conn: Transaction, caller: Caller) -> LoginOut:
    """Sign in with a username and password: sets an HttpOnly session cookie for the browser.
    Repeated failures are refused for a while (429), even with the right password."""
    principal = accounts.authenticate(conn, body.username, body.password, caller.remote)
    cookie, csrf = accounts.create_session(conn, principal.user_id, caller.remote)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=int(accounts.SESSION_TTL),
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.secure_cookies,
        path="/",
    )
    return LoginOut(user=_me(conn, principal), csrf_token=csrf)


@router.post("/auth/logout", permission=SIGNED_IN, status_code=204)
def logout(request: Request, response: Response, conn: Transaction, caller: Caller) -> Response:
    """Sign out: a browser's session ends; a client signed in with ``Authorization: Bearer`` (the
    CLI's ``reefline logout``) has that token revoked, so a copy of it stops working too."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        accounts.revoke_presented_token(conn, token.strip(), remote=caller.remote)
        user_id = caller.user.user_id
        after_commit(request, lambda: request.app.state.principals.forget_user(user_id))
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        accounts.end_session(conn, cookie, remote=caller.remote)
        if cookie:  # signed out at once on this server, not when the cached session ages out
            after_commit(request, lambda: request.app.state.principals.forget_session(cookie))
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", permission=SIGNED_IN, response_model=MeOut)
def me(conn: Transaction, caller: Caller) -> MeOut:
    return _me(conn, caller.user)


@router.get("/me/tokens", permission=SIGNED_IN, response_model=list[TokenOut])
def list_tokens(conn: Transaction, caller: Caller) -> list[TokenOut]:
    return [TokenOut.of(t) for t in accounts.list_tokens(conn, caller.user.user_id)]


@router.post("/me/tokens", permission=SIGNED_IN, response_model=NewTokenOut, status_code=201)
def create_token(body: NewTokenIn, conn: Transaction, caller: Caller) -> NewTokenOut:
    """A new personal API token for `Authorization: Bearer …`; the secret is in this answer only."""
    row, secret = accounts.create_token(
        conn, caller.user, caller.user.user_id, body.name, expires_in_days=body.expires_in_days
    )
    return NewTokenOut(token=TokenOut.of(row), secret=secret)


@router.delete("/me/tokens/{token_id}", permission=SIGNED_IN, response_model=TokenOut)
def revoke_token(token_id: int, request: Request, conn: Transaction, caller: Caller) -> TokenOut:
    """The token stops working at once on this server (within seconds on other API processes)."""
    revoked = accounts.revoke_token(conn, caller.user, caller.user.user_id, token_id)
    user_id = caller.user.user_id
    after_commit(request, lambda: request.app.state.principals.forget_user(user_id))
    return TokenOut.of(revoked)
