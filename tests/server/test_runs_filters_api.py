"""GET /api/teams/{team}/runs with filters: pipeline, state, trigger, who, and paging."""

from __future__ import annotations

from sqlalchemy import text

from tests.server.conftest import IRIS_LIKE, Api


def test_runs_filter_by_pipeline_state_trigger_and_who(api: Api) -> None:
    alice, bob = api.as_(api.user("alice")), api.as_(api.user("bob"))
    assert api.client.post("/api/teams", json={"name": "lab"}, headers=alice).status_code == 201
    assert (
        api.client.put("/api/teams/lab/members/bob", json={"role": "developer"}, headers=alice).status_code
        == 200
    )
    assert (
        api.client.post("/api/teams/lab/boards", json={"name": "research"}, headers=alice).status_code == 201
    )
    for name in ("demo", "other"):
        spec = IRIS_LIKE.replace("name: demo", f"name: {name}")
        files = {"spec": ("reefline.yaml", spec.encode(), "application/yaml")}
        assert api.client.post("/api/teams/lab/pipelines", files=files, headers=alice).status_code == 201
    started = {}
    for who, headers, pipeline in (("a1", alice, "demo"), ("b1", bob, "demo"), ("a2", alice, "other")):
        response = api.client.post(f"/api/teams/lab/pipelines/{pipeline}/runs", json={}, headers=headers)
        started[who] = response.json()["id"]
    with api.db.begin() as conn:
        conn.execute(text("UPDATE runs SET state = 'failed' WHERE id = :id"), {"id": started["b1"]})
        conn.execute(text("UPDATE runs SET trigger = 'schedule' WHERE id = :id"), {"id": started["a2"]})

    def ids(query: str) -> list[int]:
        response = api.client.get(f"/api/teams/lab/runs{query}", headers=alice)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()]

    assert ids("") == [started["a2"], started["b1"], started["a1"]]
    assert ids("?pipeline=demo") == [started["b1"], started["a1"]]
    assert ids("?state=failed") == [started["b1"]]
    assert ids("?state=failed&state=queued") == [started["a2"], started["b1"], started["a1"]]
    assert ids("?trigger=schedule") == [started["a2"]]
    assert ids("?who=alice") == [started["a2"], started["a1"]]
    listed = api.client.get("/api/teams/lab/runs", headers=alice).json()
    assert [r["triggered_by_name"] for r in listed] == ["alice", "bob", "alice"]
    shown = api.client.get(f"/api/runs/{started['b1']}", headers=alice).json()
    assert shown["triggered_by_name"] == "bob"
    assert ids("?who=bob&state=queued") == []
    assert ids("?who=nobody-at-all") == []
    assert ids(f"?who=alice&before={started['a2']}") == [started["a1"]]
    assert ids("?limit=1") == [started["a2"]]
    bad = api.client.get("/api/teams/lab/runs?state=sleeping", headers=alice)
    assert bad.status_code == 422 and "state" in bad.json()["error"]["message"]
