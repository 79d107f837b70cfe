"""An API over a real database (SQLite and PostgreSQL), driven in-process with FastAPI's TestClient."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from reefline.server.app import create_app
from reefline.server.settings import ServerSettings
from reefline.services import accounts
from reefline.services.audit import Actor
from reefline.services.home import ServerHome

PASSWORD = "correct horse battery"


@dataclass
class Api:
    client: TestClient
    db: Engine
    home: ServerHome

    def user(self, username: str, *, admin: bool = False) -> str:
        """A new user; returns an API token for them."""
        with self.db.begin() as conn:
            user = accounts.create_user(conn, Actor.system(), username, password=PASSWORD, is_admin=admin)
            _, token = accounts.create_token(conn, Actor.system(), user.id, "tests")
        return token

    def as_(self, token: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"} if token else {}


@pytest.fixture
def make_api(
    store_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[], Api]]:
    monkeypatch.delenv("REEFLINE_SECRET_KEY", raising=False)
    monkeypatch.delenv("REEFLINE_SECRET_KEY_FILE", raising=False)
    home = ServerHome(tmp_path / "home")
    clients: list[TestClient] = []

    def make() -> Api:
        app = create_app(ServerSettings(home=home), db=store_engine)
        client = TestClient(app, raise_server_exceptions=False)
        clients.append(client)
        return Api(client, store_engine, home)

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def api(make_api: Callable[[], Api]) -> Api:
    return make_api()


IRIS_LIKE = """\
version: 1
name: demo
board: research
jobs:
  prepare:
    script: echo prepared > data.txt
    outputs:
      data: {path: data.txt, type: file}
  train:
    needs: [prepare]
    inputs:
      data: {from: prepare.data}
    script: cat data.txt
"""
