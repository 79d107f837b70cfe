"""POST /api/auth/logout with a bearer token revokes that token (``reefline logout``), and only it."""

from __future__ import annotations

from tests.server.conftest import Api


def test_logout_with_a_token_revokes_it_and_leaves_the_others(api: Api) -> None:
    leaving = api.user("alice")
    with api.db.begin() as conn:
        from reefline.services import accounts
        from reefline.services.audit import Actor

        user = accounts.find_user(conn, "alice")
        _, staying = accounts.create_token(conn, Actor.system(), user.id, "laptop")
    assert api.client.get("/api/me", headers=api.as_(leaving)).status_code == 200  # cached as valid
    assert api.client.post("/api/auth/logout", headers=api.as_(leaving)).status_code == 204
    after = api.client.get("/api/me", headers=api.as_(leaving))
    assert after.status_code == 401 and "revoked" in after.json()["error"]["message"]
    assert api.client.get("/api/me", headers=api.as_(staying)).status_code == 200
    tokens = {t["name"]: t for t in api.client.get("/api/me/tokens", headers=api.as_(staying)).json()}
    assert tokens["tests"]["revoked_at"] is not None and tokens["laptop"]["revoked_at"] is None
    again = api.client.post("/api/auth/logout", headers=api.as_(leaving))
    assert again.status_code == 401
