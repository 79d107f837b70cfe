"""POST /api/auth/logout with a bearer token revokes that token (``reefline logout``), and only it;
with a session cookie it ends that session, at once although the server remembers sessions."""

from __future__ import annotations

from tests.server.conftest import PASSWORD, Api


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


def test_a_signed_out_session_cookie_stops_working_at_once_and_new_roles_apply(api: Api) -> None:
    api.user("alice")
    signed_in = api.client.post("/api/auth/login", json={"username": "alice", "password": PASSWORD})
    cookie = {"reefline_session": signed_in.cookies["reefline_session"]}
    csrf = {"X-CSRF-Token": signed_in.json()["csrf_token"]}
    api.client.cookies.clear()  # each request below sends its cookie explicitly
    assert api.client.get("/api/me", cookies=cookie).status_code == 200  # now remembered
    made = api.client.post("/api/teams", json={"name": "lab"}, cookies=cookie, headers=csrf)
    assert made.status_code == 201
    # the remembered session learnt its new role in the team it just made
    assert api.client.get("/api/teams/lab/boards", cookies=cookie).status_code == 200
    assert api.client.post("/api/auth/logout", cookies=cookie, headers=csrf).status_code == 204
    after = api.client.get("/api/me", cookies=cookie)  # a copy of the cookie, kept after sign-out
    assert after.status_code == 401 and "session ended" in after.json()["error"]["message"]
