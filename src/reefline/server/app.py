"""The FastAPI application: ``create_app(settings)``. OpenAPI at /api/openapi.json, docs at /api/docs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI

from reefline import __version__
from reefline.server import errors, webui
from reefline.server.foreground import ForegroundMiddleware
from reefline.server.models import ERROR_RESPONSES
from reefline.server.principals import PrincipalCache
from reefline.server.scopes import ScopeCache
from reefline.server.settings import Role, ServerSettings

API = "/api"


def _routers() -> list[Any]:
    from reefline.server.routes import (
        artifacts,
        auth,
        components,
        experiments,
        meta,
        pipelines,
        policy,
        reproduce,
        runs,
        secrets,
        spec,
        teams,
    )

    return [
        meta.router,
        auth.router,
        teams.router,
        pipelines.router,
        runs.router,
        secrets.router,
        policy.router,
        spec.router,
        experiments.router,
        components.router,
        artifacts.router,
        reproduce.router,
    ]


def create_app(
    settings: ServerSettings,
    *,
    db: sa.Engine | None = None,
    on_start: Callable[[FastAPI], None] | None = None,
    on_stop: Callable[[FastAPI], None] | None = None,
) -> FastAPI:
    """The API over ``db`` (default: the settings' database, migrated). ``on_start``/``on_stop`` run
    with the app's lifespan (``reefline server`` starts and stops the engine host there)."""
    from reefline.services.permissions import ensure_builtin_roles
    from reefline.services.secret_box import SecretBox

    settings.home.create()
    if db is None:
        from reefline.store.db import open_database

        db = open_database(settings.database_url)
    with db.begin() as conn:
        ensure_builtin_roles(conn)
    secret_box = SecretBox.from_env(settings.home)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if on_start is not None:
            on_start(app)
        try:
            yield
        finally:
            if on_stop is not None:
                on_stop(app)

    app = FastAPI(
        title="Reefline",
        version=__version__,
        summary="Typed, cached ML and CI pipelines: the server's REST API.",
        openapi_url=f"{API}/openapi.json",
        docs_url=f"{API}/docs",
        redoc_url=None,
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
    )
    app.state.db = db
    app.state.secret_box = secret_box
    app.state.principals = PrincipalCache()
    app.state.scopes = ScopeCache()
    app.state.settings = settings
    app.state.role = settings.role if settings.role is not Role.ENGINE else Role.API
    errors.install(app)
    for router in _routers():
        app.include_router(router, prefix=API)
    _check_every_route_is_secured(app)
    app.state.path_methods = errors.path_methods(app)
    webui.install(app)
    app.add_middleware(ForegroundMiddleware)
    return app


def _check_every_route_is_secured(app: FastAPI) -> None:
    """Deny by default: an operation that does not declare its permission is a bug caught at start-up.

    Read from the OpenAPI document, which lists every operation of every included router."""
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            if "x-permission" not in operation:
                raise RuntimeError(f"{method.upper()} {path} declares no permission (use SecureRouter)")
