"""The API's contract: one error shape, sign-in, teams, pushes and revisions, write-only secrets."""

from __future__ import annotations

from sqlalchemy import text

from tests.server.conftest import IRIS_LIKE, PASSWORD, Api


def _error(response: object) -> dict[str, object]:
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]  # type: ignore[no-any-return]


def test_health_needs_no_sign_in_and_everything_else_does(api: Api) -> None:
    assert api.client.get("/api/health").json()["status"] == "ok"
    response = api.client.get("/api/teams")
    assert response.status_code == 401
    assert _error(response)["code"] == "unauthenticated"
    garbage = api.client.get("/api/teams", headers={"Authorization": "Bearer rl_nothing_here"})
    assert garbage.status_code == 401


def test_unknown_routes_and_malformed_bodies_get_the_one_error_shape(api: Api) -> None:
    token = api.user("alice")
    missing = api.client.get("/api/nowhere", headers=api.as_(token))
    assert missing.status_code == 404 and _error(missing)["code"] == "not_found"
    wrong_method = api.client.delete("/api/health")
    assert wrong_method.status_code == 405 and _error(wrong_method)["code"] == "method_not_allowed"
    bad_json = api.client.post(
        "/api/teams", content=b"{not json", headers={**api.as_(token), "Content-Type": "application/json"}
    )
    assert bad_json.status_code == 422 and _error(bad_json)["code"] == "invalid"
    bad_type = api.client.post("/api/teams", json={"name": 5}, headers=api.as_(token))
    assert bad_type.status_code == 422 and "name" in str(_error(bad_type)["message"])


def test_validate_gives_the_diagnostics_of_reefline_validate(api: Api) -> None:
    token = api.user("alice")
    broken = "version: 1\nname: x\njobs:\n  a:\n    needs: [nope]\n    script: echo\n"
    as_yaml = api.client.post(
        "/api/validate?file=p.yaml",
        content=broken.encode(),
        headers={**api.as_(token), "Content-Type": "application/yaml"},
    )
    assert as_yaml.status_code == 200
    report = as_yaml.json()
    assert report["valid"] is False
    [diagnostic] = report["diagnostics"]
    assert (diagnostic["file"], diagnostic["line"]) == ("p.yaml", 5)
    assert diagnostic["code"].startswith("RL")
    as_json = api.client.post("/api/validate", json={"text": IRIS_LIKE}, headers=api.as_(token))
    assert as_json.json()["valid"] is True and as_json.json()["jobs"] == 2


def test_browser_sign_in_sets_an_http_only_cookie_and_guards_changes_with_csrf(api: Api) -> None:
    api.user("alice")
    wrong = api.client.post("/api/auth/login", json={"username": "alice", "password": "nope-nope"})
    assert wrong.status_code == 401
    response = api.client.post("/api/auth/login", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    csrf = response.json()["csrf_token"]
    assert api.client.get("/api/me").json()["username"] == "alice"  # the cookie alone reads
    refused = api.client.post("/api/teams", json={"name": "research"})
    assert refused.status_code == 403 and "csrf" in str(_error(refused)["message"]).lower()
    made = api.client.post("/api/teams", json={"name": "research"}, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201
    assert api.client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert api.client.get("/api/me").status_code == 401


def test_failed_sign_ins_are_rate_limited(api: Api) -> None:
    api.user("alice")
    for _ in range(5):
        api.client.post("/api/auth/login", json={"username": "alice", "password": "wrong-password"})
    limited = api.client.post("/api/auth/login", json={"username": "alice", "password": PASSWORD})
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0


def _team_with_board(api: Api, token: str) -> None:
    assert api.client.post("/api/teams", json={"name": "lab"}, headers=api.as_(token)).status_code == 201
    board = api.client.post("/api/teams/lab/boards", json={"name": "research"}, headers=api.as_(token))
    assert board.status_code == 201


def _push(api: Api, token: str, spec: str, message: str) -> object:
    return api.client.post(
        "/api/teams/lab/pipelines",
        files={"spec": ("reefline.yaml", spec.encode(), "application/yaml")},
        data={"message": message},
        headers=api.as_(token),
    )


def test_push_revisions_diff_and_rollback(api: Api) -> None:
    token = api.user("alice")
    _team_with_board(api, token)
    first = _push(api, token, IRIS_LIKE, "first")
    assert first.status_code == 201, first.text  # type: ignore[attr-defined]
    assert first.json()["revision"]["number"] == 1  # type: ignore[attr-defined]
    again = _push(api, token, IRIS_LIKE, "same again")
    assert again.json()["created"] is False  # type: ignore[attr-defined]
    edited = IRIS_LIKE.replace("cat data.txt", "wc -c data.txt")
    assert _push(api, token, edited, "count").json()["revision"]["number"] == 2  # type: ignore[attr-defined]
    invalid = _push(api, token, IRIS_LIKE.replace("needs: [prepare]", "needs: [nope]"), "broken")
    assert invalid.status_code == 422  # type: ignore[attr-defined]
    diagnostics = _error(invalid)["details"]["diagnostics"]  # type: ignore[index]
    assert diagnostics[0]["line"] == 10
    revisions = api.client.get("/api/teams/lab/pipelines/demo/revisions", headers=api.as_(token)).json()
    assert [(r["number"], r["author"], r["message"]) for r in revisions] == [  # newest first
        (2, "alice", "count"),
        (1, "alice", "first"),
    ]
    diff = api.client.get("/api/teams/lab/pipelines/demo/diff?a=1&b=2", headers=api.as_(token))
    text_diff = diff.json()["diff"]
    assert "-    script: cat data.txt" in text_diff and "+    script: wc -c data.txt" in text_diff
    back = api.client.post(
        "/api/teams/lab/pipelines/demo/rollback", json={"revision": 1}, headers=api.as_(token)
    ).json()
    assert (back["revision"]["number"], back["revision"]["rollback_of"]) == (3, 1)
    assert back["pipeline"]["current_revision"] == 3
    three = api.client.get("/api/teams/lab/pipelines/demo/revisions/3", headers=api.as_(token)).json()
    assert three["spec_text"] == IRIS_LIKE


def test_another_teams_things_are_not_found_not_forbidden(api: Api) -> None:
    alice, bob = api.user("alice"), api.user("bob")
    _team_with_board(api, alice)
    assert _push(api, alice, IRIS_LIKE, "first").status_code == 201  # type: ignore[attr-defined]
    for path in ("/api/teams/lab/pipelines", "/api/teams/lab/pipelines/demo", "/api/teams/lab/boards"):
        theirs = api.client.get(path, headers=api.as_(bob))
        nowhere = api.client.get(path.replace("/lab", "/no-such-team"), headers=api.as_(bob))
        assert theirs.status_code == nowhere.status_code == 404
        assert _error(theirs)["message"] == str(_error(nowhere)["message"]).replace("no-such-team", "lab")


def test_secrets_are_write_only_and_encrypted_at_rest(api: Api) -> None:
    token = api.user("alice")
    _team_with_board(api, token)
    value = "s3cr3t-value-for-the-test"
    put = api.client.put("/api/teams/lab/secrets/API_KEY", json={"value": value}, headers=api.as_(token))
    assert put.status_code == 200 and value not in put.text
    listed = api.client.get("/api/teams/lab/secrets", headers=api.as_(token))
    assert [s["name"] for s in listed.json()] == ["API_KEY"] and value not in listed.text
    with api.db.connect() as conn:
        stored = conn.execute(text("SELECT ciphertext FROM secrets")).scalar()
        audit = conn.execute(text("SELECT details, target FROM audit_log")).all()
    assert value not in str(stored) and value not in str(audit)
    gone = api.client.delete("/api/teams/lab/secrets/API_KEY", headers=api.as_(token))
    assert gone.status_code == 204
    log = api.client.get("/api/teams/lab/audit", headers=api.as_(token)).json()
    assert [e["action"] for e in log[:2]] == ["secret.delete", "secret.write"]
    assert {e["user"] for e in log[:2]} == {"alice"} and all(e["remote"] for e in log[:2])


def test_a_revoked_token_stops_working_at_once(api: Api) -> None:
    token = api.user("alice")
    made = api.client.post("/api/me/tokens", json={"name": "ci"}, headers=api.as_(token)).json()
    ci = api.as_(made["secret"])
    assert api.client.get("/api/me", headers=ci).status_code == 200  # now remembered for a while
    revoked = api.client.delete(f"/api/me/tokens/{made['token']['id']}", headers=api.as_(token))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    refused = api.client.get("/api/me", headers=ci)
    assert refused.status_code == 401 and "revoked" in _error(refused)["message"]
    assert api.client.get("/api/me", headers=api.as_(token)).status_code == 200
