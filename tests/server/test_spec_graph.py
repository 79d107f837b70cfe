"""POST /api/spec/graph and a revision's graph: what the visual editor draws, also for a broken spec."""

from __future__ import annotations

from typing import Any

from tests.server.conftest import Api

SPEC = """\
version: 1
name: demo
# the stages, in order
stages: [prepare, train]
params:
  lr: {type: float, default: 0.1, description: learning rate}
  model: {default: tree, choices: [tree, knn]}
  epochs: 3
types:
  dataset/iris: {extends: dataset/csv, description: the iris table}
jobs:
  prepare:
    stage: prepare
    description: split the data
    script: echo prepared > data.csv
    outputs:
      data: {path: data.csv, type: dataset/iris}
  train:
    stage: train
    needs: [prepare]
    matrix: {seed: [1, 2, 3], depth: [2, 4]}
    inputs:
      data: {from: prepare.data}
    script: cat data.csv
    metrics: out/m-${{ matrix.seed }}-${{ matrix.depth }}.json
  lint:
    stage: train
    needs: [prepare]
    script: echo ok
"""


def _graph(api: Api, token: str, text: str) -> dict[str, Any]:
    response = api.client.post("/api/spec/graph", json={"text": text}, headers=api.as_(token))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _at(text: str, span: dict[str, int]) -> str:
    assert span["line"] == span["end_line"]
    return text.splitlines()[span["line"] - 1][span["col"] - 1 : span["end_col"] - 1]


def test_the_graph_has_stages_typed_edges_params_and_the_palette(api: Api) -> None:
    token = api.user("alice")
    graph = _graph(api, token, SPEC)
    assert graph["valid"] is True and graph["recovered"] is False and graph["diagnostics"] == []
    assert graph["stages"] == ["prepare", "train"]
    jobs = {j["name"]: j for j in graph["jobs"]}
    assert list(jobs) == ["prepare", "train", "lint"]
    train = jobs["train"]
    assert (train["stage"], train["needs"], train["matrix_size"]) == ("train", ["prepare"], 6)
    [data_in] = train["inputs"]
    assert data_in["from"] == "prepare.data" and data_in["type"] == "dataset/iris"  # the producer's type
    assert {o["name"]: o["type"] for o in train["outputs"]} == {"metrics": "metrics/json"}
    assert jobs["prepare"]["description"] == "split the data"
    assert graph["edges"] == [
        {
            "kind": "artifact",
            "from_job": "prepare",
            "to_job": "train",
            "from_output": "data",
            "to_input": "data",
            "type": "dataset/iris",
        },
        {"kind": "needs", "from_job": "prepare", "to_job": "lint", "from_output": None, "to_input": None}
        | {"type": None},
    ]
    params = {p["name"]: p for p in graph["params"]}
    assert params["lr"] == {
        "name": "lr",
        "type": "float",
        "default": 0.1,
        "choices": None,
        "description": "learning rate",
    }
    assert params["model"]["choices"] == ["tree", "knn"] and params["model"]["type"] == "str"
    assert (params["epochs"]["type"], params["epochs"]["default"]) == ("int", 3)
    palette = {t["name"]: t for t in graph["types"]}
    assert palette["dataset/iris"] == {
        "name": "dataset/iris",
        "extends": "dataset/csv",
        "description": "the iris table",
        "custom": True,
    }
    assert palette["model/pickle"]["custom"] is False


def test_ranges_point_at_the_job_keys_and_fields_in_the_text(api: Api) -> None:
    token = api.user("alice")
    jobs = {j["name"]: j for j in _graph(api, token, SPEC)["jobs"]}
    train = jobs["train"]
    assert _at(SPEC, train["range"]) == "train"
    assert _at(SPEC, train["fields"]["script"]["key"]) == "script"
    assert _at(SPEC, train["fields"]["script"]["value"]) == "cat data.csv"
    assert _at(SPEC, train["inputs"][0]["range"]) == "data"
    whole = train["whole"]
    assert (whole["line"], whole["end_line"]) == (18, 26)


def test_a_spec_whose_yaml_does_not_parse_still_has_a_graph_and_the_diagnostic(api: Api) -> None:
    token = api.user("alice")
    broken = SPEC.replace("    description: split the data\n", "    description: [split the data\n")
    graph = _graph(api, token, broken)
    assert graph["valid"] is False and graph["recovered"] is True
    assert "RL101" in {d["code"] for d in graph["diagnostics"]}  # the YAML syntax error
    assert {j["name"] for j in graph["jobs"]} == {"prepare", "train", "lint"}
    typo = SPEC.replace("from: prepare.data", "from: prepare.dta")
    graph = _graph(api, token, typo)
    assert graph["valid"] is False and not graph["recovered"]
    assert [e["kind"] for e in graph["edges"]] == ["needs", "needs"]  # no edge to an unknown output
    assert any(d["line"] == 23 for d in graph["diagnostics"])


def test_odd_documents_get_an_empty_graph_not_an_error(api: Api) -> None:
    token = api.user("alice")
    for text in ("", "- a list\n", "jobs: 5\n", "jobs:\n  x: [1, 2]\n  y:\n    inputs: {a: 3}\n", "\x00\x01"):
        graph = _graph(api, token, text)
        assert graph["valid"] is False
        assert graph["stages"] == ["default"]
    weird = _graph(api, token, "jobs:\n  x: [1, 2]\n  y:\n    needs: [x, 5]\n    inputs: {a: 3}\n")
    assert {j["name"] for j in weird["jobs"]} == {"x", "y"}
    refused = api.client.post("/api/spec/graph", json={"text": 5}, headers=api.as_(token))
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid"
    assert api.client.post("/api/spec/graph", json={"text": SPEC}).status_code == 401


def test_a_revision_has_the_graph_of_its_yaml(api: Api) -> None:
    token = api.user("alice")
    assert api.client.post("/api/teams", json={"name": "lab"}, headers=api.as_(token)).status_code == 201
    board = api.client.post("/api/teams/lab/boards", json={"name": "research"}, headers=api.as_(token))
    assert board.status_code == 201
    files = {"spec": ("reefline.yaml", SPEC.encode(), "application/yaml")}
    pushed = api.client.post(
        "/api/teams/lab/pipelines", files=files, data={"board": "research"}, headers=api.as_(token)
    )
    assert pushed.status_code == 201, pushed.text
    graph = api.client.get("/api/teams/lab/pipelines/demo/revisions/1/graph", headers=api.as_(token))
    assert graph.status_code == 200
    assert [j["name"] for j in graph.json()["jobs"]] == ["prepare", "train", "lint"]
    missing = api.client.get("/api/teams/lab/pipelines/demo/revisions/9/graph", headers=api.as_(token))
    assert missing.status_code == 404
