"""POST /api/spec/edit: edits applied to the YAML, the new text's graph, and errors naming the edit."""

from __future__ import annotations

from tests.server.conftest import IRIS_LIKE, Api

COMMENTED = IRIS_LIKE.replace("jobs:\n", "jobs:   # the work\n").replace(
    "  train:\n", "  # learn\n  train:\n"
)


def test_edits_come_back_as_text_with_comments_and_the_new_graph(api: Api) -> None:
    token = api.user("alice")
    edits = [
        {"op": "rename_job", "name": "prepare", "new_name": "fetch"},
        {"op": "add_job", "name": "report"},
        {"op": "connect", "from": "fetch.data", "to": "report.data"},
    ]
    response = api.client.post(
        "/api/spec/edit", json={"text": COMMENTED, "edits": edits}, headers=api.as_(token)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["changed"] is True
    text = body["text"]
    assert "jobs:   # the work\n  fetch:\n" in text and "  # learn\n  train:\n" in text
    assert "      data: {from: fetch.data}\n" in text
    assert text.endswith(
        "  report:\n    script: echo report\n    inputs:\n      data: {from: fetch.data, type: file}\n"
    )
    graph = body["graph"]
    assert graph["valid"] is True
    assert {(e["from_job"], e["to_job"]) for e in graph["edges"]} == {("fetch", "train"), ("fetch", "report")}


def test_an_edit_that_cannot_apply_is_a_422_naming_the_edit_and_the_field(api: Api) -> None:
    token = api.user("alice")
    edits = [{"op": "add_job", "name": "x"}, {"op": "disconnect", "to": "train.nope"}]
    response = api.client.post(
        "/api/spec/edit", json={"text": IRIS_LIKE, "edits": edits}, headers=api.as_(token)
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["details"] == {"edit": 1, "field": "to"}
    assert "edit 1" in error["message"] and "no input 'nope'" in error["message"]
    unknown = api.client.post(
        "/api/spec/edit",
        json={"text": IRIS_LIKE, "edits": [{"op": "rename_job", "name": "train"}]},
        headers=api.as_(token),
    )
    assert unknown.status_code == 422 and "edits.0" in unknown.json()["error"]["message"]
    broken = api.client.post(
        "/api/spec/edit",
        json={"text": "jobs: [1,\n", "edits": [{"op": "delete_job", "name": "a"}]},
        headers=api.as_(token),
    )
    assert broken.status_code == 422 and broken.json()["error"]["details"]["edit"] == 0
    huge = api.client.post(
        "/api/spec/edit", json={"text": "#" * 400_000, "edits": []}, headers=api.as_(token)
    )
    assert huge.status_code in (413, 422)
    assert api.client.post("/api/spec/edit", json={"text": IRIS_LIKE, "edits": []}).status_code == 401
