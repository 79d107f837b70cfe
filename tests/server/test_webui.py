"""The web UI mount: the build's files at ``/`` with cache headers, client routes fall back to
``index.html``, ``/api`` is untouched, and without a build ``/`` says how to make one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from reefline.server.app import create_app
from reefline.server.settings import ServerSettings
from reefline.services.home import ServerHome

INDEX = '<!doctype html><html><head><script type="module" src="/assets/index-abc.js"></script></head></html>'


def _build(root: Path) -> Path:
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "index-abc.js").write_text("console.log('app')")
    (root / "sw.js").write_text("self.addEventListener('fetch', () => {})")
    (root / "manifest.webmanifest").write_text('{"name": "Reefline"}')
    return root


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.delenv("REEFLINE_DATABASE_URL", raising=False)
    app = create_app(ServerSettings(home=ServerHome(tmp_path / "home")))
    app.state.webui_root = _build(tmp_path / "webui")
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_index_and_client_routes_get_the_app_revalidated(client: TestClient) -> None:
    for path in ("/", "/runs/12", "/t/research/pipelines/iris.v2/edit"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.text == INDEX
        assert response.headers["cache-control"] == "no-cache"
        assert "default-src 'self'" in response.headers["content-security-policy"]


def test_hashed_assets_are_immutable_and_the_service_worker_is_not(client: TestClient) -> None:
    asset = client.get("/assets/index-abc.js")
    assert asset.status_code == 200
    assert "immutable" in asset.headers["cache-control"]
    assert asset.headers["content-type"].startswith("text/javascript")
    worker = client.get("/sw.js")
    assert worker.headers["cache-control"] == "no-cache"
    manifest = client.get("/manifest.webmanifest")
    assert manifest.headers["content-type"] == "application/manifest+json"


def test_a_missing_asset_is_a_404_not_the_app(client: TestClient) -> None:
    for path in ("/assets/gone-1234.js", "/icons/none.png", "/old.css"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "<html" not in response.text


def test_paths_that_leave_the_build_get_the_app_never_a_file(client: TestClient, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("do not serve")
    for path in ("/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt", "/.env", "/a%00b"):
        response = client.get(path)
        assert "do not serve" not in response.text, path
        assert response.status_code in (200, 404), path


def test_the_api_keeps_its_own_answers(client: TestClient) -> None:
    assert client.get("/api/health").json()["status"] == "ok"
    missing = client.get("/api/no-such-route")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert client.post("/api/health").status_code == 405
    assert client.post("/some/page").status_code == 404
    assert client.get("/api").json()["error"]["code"] == "not_found"


def test_without_a_build_the_page_says_how_to_make_one(client: TestClient, tmp_path: Path) -> None:
    client.app.state.webui_root = tmp_path / "nothing-here"  # type: ignore[attr-defined]
    response = client.get("/")
    assert response.status_code == 503
    assert "make web" in response.text
    assert client.get("/api/health").status_code == 200
