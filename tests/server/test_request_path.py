"""How a request goes through the server: its check, its transaction, and what it tells the client."""

from __future__ import annotations

import asyncio
from pathlib import Path

import anyio.to_thread
import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from reefline.server.app import create_app
from reefline.server.deps import PUBLIC, Transaction
from reefline.server.routing import SecureRouter
from reefline.server.settings import ServerSettings
from reefline.services import accounts
from reefline.services.audit import Actor
from reefline.services.home import ServerHome
from reefline.store.db import open_database
from reefline.store.tables import teams

from .conftest import IRIS_LIKE, PASSWORD, Api


def _admin_tokens(db: sa.Engine, n: int) -> list[str]:
    with db.begin() as conn:
        user = accounts.create_user(conn, Actor.system(), "ann", password=PASSWORD, is_admin=True)
        accounts.create_team(conn, Actor.system(), "lab", owner="ann")
        return [accounts.create_token(conn, Actor.system(), user.id, f"t{i}")[1] for i in range(n)]


def test_a_burst_larger_than_the_thread_pool_and_the_connection_pool_is_answered(
    store_url: str, tmp_path: Path
) -> None:
    """30 requests at once, each with a token the server has not seen (its check must read the
    database), on 2 threads and 1 connection. A check that kept its connection until the route's
    own trip would leave both threads waiting for it: every request timed out."""
    open_database(store_url).dispose()  # migrated
    db = sa.create_engine(store_url, pool_size=1, max_overflow=0, pool_timeout=3)
    tokens = _admin_tokens(db, 30)
    app = create_app(ServerSettings(home=ServerHome(tmp_path / "home")), db=db)

    async def burst() -> list[int]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = 2
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=20) as http:
            answers = await asyncio.gather(
                *(http.get("/api/teams/lab/runs", headers={"Authorization": f"Bearer {t}"}) for t in tokens)
            )
        return [a.status_code for a in answers]

    try:
        assert asyncio.run(asyncio.wait_for(burst(), 20)) == [200] * 30
    finally:
        db.dispose()


def test_a_run_unknown_at_first_is_found_once_it_exists(api: Api) -> None:
    """The server remembers which team a run belongs to, but never that a run does not exist."""
    token = api.user("ann", admin=True)
    headers = api.as_(token)
    assert api.client.post("/api/teams", json={"name": "lab"}, headers=headers).status_code == 201
    assert (
        api.client.post("/api/teams/lab/boards", json={"name": "research"}, headers=headers).status_code
        == 201
    )
    spec = {"spec": ("reefline.yaml", IRIS_LIKE.encode(), "application/yaml")}
    pushed = api.client.post("/api/teams/lab/pipelines", files=spec, headers=headers)
    assert pushed.status_code == 201, pushed.text
    assert api.client.get("/api/runs/1", headers=headers).status_code == 404
    started = api.client.post("/api/teams/lab/pipelines/demo/runs", json={}, headers=headers)
    assert started.status_code == 201, started.text
    run_id = started.json()["id"]
    assert run_id == 1
    assert api.client.get(f"/api/runs/{run_id}", headers=headers).status_code == 200
    assert api.client.get("/api/teams/nope/runs", headers=headers).status_code == 404
    with api.db.begin() as conn:
        conn.execute(teams.insert().values(name="nope", created_at=0.0))
    assert api.client.get("/api/teams/nope/runs", headers=headers).status_code == 200


def test_every_answer_says_how_long_the_server_took(api: Api) -> None:
    for response in (
        api.client.get("/api/health"),
        api.client.get("/api/teams/lab/runs"),  # 401: errors too
    ):
        name, _, duration = response.headers["server-timing"].partition(";dur=")
        assert name == "app"
        assert 0 <= float(duration) < 60_000


def _app_with(router: SecureRouter, db: sa.Engine, tmp_path: Path) -> FastAPI:
    app = create_app(ServerSettings(home=ServerHome(tmp_path / "home")), db=db)
    app.include_router(router, prefix="/api")
    return app


def test_a_route_that_raises_leaves_nothing_of_what_it_wrote(store_engine: sa.Engine, tmp_path: Path) -> None:
    router = SecureRouter()

    @router.post("/half-done", permission=PUBLIC)
    def half_done(conn: Transaction) -> None:
        conn.execute(teams.insert().values(name="half", created_at=0.0))
        raise RuntimeError("fails after writing")

    @router.post("/done", permission=PUBLIC, status_code=204)
    def done(conn: Transaction) -> None:
        conn.execute(teams.insert().values(name="whole", created_at=0.0))

    with TestClient(_app_with(router, store_engine, tmp_path), raise_server_exceptions=False) as client:
        failed = client.post("/api/half-done")
        assert failed.status_code == 500
        assert "error" in failed.json()
        assert client.post("/api/done").status_code == 204
    with store_engine.connect() as conn:
        names = set(conn.execute(sa.select(teams.c.name)).scalars())
    assert "whole" in names and "half" not in names


def test_an_async_route_cannot_take_a_transaction() -> None:
    router = SecureRouter()
    with pytest.raises(TypeError, match="only a plain"):

        @router.get("/nope", permission=PUBLIC)
        async def nope(conn: Transaction) -> None:
            del conn
