"""Trace queries on a recorded history (SQLite and PostgreSQL): producers across runs and pipelines,
cached jobs, depth, forward, stale marks and the errors a user sees."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine

from reefline.lineage import trace
from reefline.lineage.frames import render, to_json
from reefline.services.types import Invalid, NotFound
from reefline.store import repo
from reefline.store.repo_artifacts import insert_inputs, insert_outputs
from reefline.store.repo_lineage import set_run_provenance

DAY = 86400.0


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def run(conn: Connection, pipeline: str, *, now: float = 1000.0, commit: str | None = None) -> int:
    pipeline_id = repo.get_or_create_pipeline(conn, pipeline, f"/src/{pipeline}.yaml", now)
    run_id = repo.create_run(
        conn,
        pipeline_id=pipeline_id,
        spec_text="jobs: {}\n",
        spec_path=f"/src/{pipeline}.yaml",
        spec_hash="0" * 64,
        params={"seed": 7},
        workspace="/src",
        options={},
        trigger="cli",
        owner_host="laptop",
        owner_pid=1,
        now=now,
    )
    if commit is not None:
        set_run_provenance(conn, run_id, commit=commit, branch="main", dirty=True)
    return run_id


def job(
    conn: Connection,
    run_id: int,
    name: str,
    *,
    outputs: dict[str, str] | None = None,
    inputs: dict[str, tuple[str, int | None]] | None = None,
    state: str = "success",
    definition: str = "d1",
    cached_from: int | None = None,
    at: float = 1000.0,
    matrix: dict[str, Any] | None = None,
) -> int:
    """A finished job writing ``outputs`` (name → content) and reading ``inputs`` (name → (content,
    producer job id in this run))."""
    row = {
        "name": name,
        "job": name.split("[", maxsplit=1)[0],
        "stage": "s",
        "position": 0,
        "matrix": matrix or {},
        "needs": [],
        "state": state,
        "allow_failure": False,
        "definition_hash": sha(definition),
        "cached_from_job_id": cached_from,
        "started_at": at - 1,
        "finished_at": at,
    }
    job_id = repo.create_jobs(conn, run_id, [row])[name]
    insert_outputs(
        conn,
        job_id,
        [
            {"name": n, "path": f"out/{n}", "type": "file", "sha256": sha(c), "size": len(c)}
            for n, c in (outputs or {}).items()
        ],
    )
    insert_inputs(
        conn,
        job_id,
        [
            {
                "name": n,
                "path": f"out/{n}",
                "type": "file",
                "sha256": sha(c),
                "size": len(c),
                "producer_job_id": p,
            }
            for n, (c, p) in (inputs or {}).items()
        ],
    )
    return job_id


def history(engine: Engine) -> dict[str, int]:
    """Pipeline A: prepare → train (run 1), then run 2 all cached; pipeline B reads A's model."""
    ids: dict[str, int] = {}
    with engine.begin() as conn:
        r1 = run(conn, "a", commit="3f2a9c1" + "0" * 33)
        ids["prep1"] = job(conn, r1, "prepare", outputs={"features": "F"}, inputs={"raw": ("RAW", None)})
        ids["train1"] = job(
            conn,
            r1,
            "train[model=tree]",
            outputs={"model": "M"},
            inputs={"features": ("F", ids["prep1"])},
            matrix={"model": "tree"},
        )
        r2 = run(conn, "a", now=2000.0)
        ids["prep2"] = job(
            conn,
            r2,
            "prepare",
            outputs={"features": "F"},
            inputs={"raw": ("RAW", None)},
            state="cached",
            cached_from=ids["prep1"],
            at=2000.0,
        )
        ids["train2"] = job(
            conn,
            r2,
            "train[model=tree]",
            outputs={"model": "M"},
            inputs={"features": ("F", ids["prep2"])},
            state="cached",
            cached_from=ids["train1"],
            at=2000.0,
        )
        r3 = run(conn, "b", now=3000.0)
        ids["report"] = job(
            conn, r3, "report", outputs={"report": "R"}, inputs={"model": ("M", None)}, at=3000.0
        )
        ids.update(r1=r1, r2=r2, r3=r3)
    return ids


def test_a_trace_crosses_from_one_pipeline_into_the_one_that_made_its_input(
    store_engine: Engine, tmp_path: Path
) -> None:
    ids = history(store_engine)
    with store_engine.connect() as conn:
        target = trace.resolve(conn, tmp_path, sha("R")[:10])
        found = trace.backtrace(conn, target)
    assert [(f.job, f.run_id, f.pipeline) for f in found.frames] == [
        ("report", ids["r3"], "b"),
        ("train[model=tree]", ids["r1"], "a"),  # the run that really made the model, not the cached one
        ("prepare", ids["r1"], "a"),
    ]
    report, train, prepare = found.frames
    assert [(i.name, i.frame) for i in report.inputs] == [("model", 1)]
    assert [(i.name, i.frame) for i in train.inputs] == [("features", 2)]
    assert [(i.name, i.frame) for i in prepare.inputs] == [("raw", None)]  # a source file
    assert (train.commit, train.dirty, train.author, train.params) == (
        "3f2a9c1" + "0" * 33,
        True,
        "laptop",
        {"seed": 7, "model": "tree"},
    )
    text = render(found)
    assert "#1  train[model=tree]" in text and "commit 3f2a9c1+dirty" in text
    assert "← #1" in text and "(source: no recorded job made it)" in text


def test_a_cached_job_says_which_run_made_its_outputs_and_its_inputs_lead_on(
    store_engine: Engine, tmp_path: Path
) -> None:
    ids = history(store_engine)
    with store_engine.connect() as conn:
        target = trace.resolve(conn, tmp_path, f"{ids['r2']}:train[model=tree].model")
        found = trace.backtrace(conn, target)
    top, prep = found.frames
    assert (top.job_id, top.cached_from_run, top.cached_from_job_id) == (
        ids["train2"],
        ids["r1"],
        ids["train1"],
    )
    assert (prep.job_id, prep.cached_from_run) == (ids["prep2"], ids["r1"])  # its from: edge in run 2
    assert f"(cached from run {ids['r1']})" in render(found).splitlines()[0]


def test_depth_stops_the_trace_and_says_so(store_engine: Engine, tmp_path: Path) -> None:
    ids = history(store_engine)
    with store_engine.connect() as conn:
        target = trace.resolve(conn, tmp_path, sha("R"))
        zero = trace.backtrace(conn, target, depth=0)
        one = trace.backtrace(conn, target, depth=1)
    assert [f.job for f in zero.frames] == ["report"] and zero.truncated
    assert zero.frames[0].inputs[0].producer_run == ids["r1"]
    assert f"← run {ids['r1']} (beyond --depth)" in render(zero)
    assert [f.job for f in one.frames] == ["report", "train[model=tree]"] and one.truncated


def test_forward_lists_everything_derived_from_an_artifact(store_engine: Engine, tmp_path: Path) -> None:
    ids = history(store_engine)
    with store_engine.connect() as conn:
        found = trace.forward(conn, trace.resolve(conn, tmp_path, sha("F")))
        shallow = trace.forward(conn, trace.resolve(conn, tmp_path, sha("F")), depth=0)
    assert [(f.job_id, f.derived_from) for f in found.frames] == [
        (ids["train1"], None),
        (ids["train2"], None),
        (ids["report"], 0),
    ]
    assert [f.job_id for f in shallow.frames] == [ids["train1"], ids["train2"]] and shallow.truncated


def test_a_job_whose_definition_changed_later_is_stale_and_old_inputs_are_marked(
    store_engine: Engine, tmp_path: Path
) -> None:
    ids = history(store_engine)
    with store_engine.begin() as conn:
        r4 = run(conn, "a", now=4000.0)
        job(conn, r4, "train[model=tree]", outputs={"model": "M2"}, definition="d2", at=4000.0)
    with store_engine.connect() as conn:
        found = trace.backtrace(
            conn, trace.resolve(conn, tmp_path, sha("R")), max_age_days=1, now=1000.0 + 2 * DAY
        )
        fresh = trace.backtrace(
            conn, trace.resolve(conn, tmp_path, sha("R")), max_age_days=30, now=1000.0 + 2 * DAY
        )
    report, train, prepare = found.frames
    assert report.stale == [] and prepare.stale == []  # the same definition in every later run
    assert train.stale == [
        f"the definition of train[model=tree] changed since (run {r4} runs a different one)"
    ]
    assert report.inputs[0].stale is not None and "2 days" in report.inputs[0].stale
    assert all(link.stale is None for frame in fresh.frames for link in frame.inputs)
    heads = [line for line in render(found).splitlines() if line.startswith("#")]
    assert ["STALE" in line for line in heads] == [False, True, False]
    assert ids["train1"] == train.job_id


def test_the_json_shape(store_engine: Engine, tmp_path: Path) -> None:
    history(store_engine)
    with store_engine.connect() as conn:
        payload = to_json(trace.backtrace(conn, trace.resolve(conn, tmp_path, sha("R"))))
    assert set(payload) == {"target", "sha256", "direction", "frames", "truncated"}
    assert (payload["sha256"], payload["direction"]) == (sha("R"), "back")
    frame = payload["frames"][0]
    assert {"number", "job", "run_id", "pipeline", "commit", "dirty", "author", "params", "stale"} <= set(
        frame
    )
    assert frame["inputs"][0] == {
        "name": "model",
        "path": "out/model",
        "type": "file",
        "sha256": sha("M"),
        "size": 1,
        "frame": 1,
        "stale": None,
        "producer_run": payload["frames"][1]["run_id"],
        "producer_component_run": None,  # made by a job, not by a component run
        "uri": None,  # an input's copy is its producer's output's uri
    }


def test_unknown_and_ambiguous_targets_are_user_errors(store_engine: Engine, tmp_path: Path) -> None:
    history(store_engine)
    shared = sha("R")[:6]
    with store_engine.begin() as conn:  # a second hash with the same first 6 characters
        other = shared + "f" * 58 if sha("R")[6] != "f" else shared + "0" * 58
        r = run(conn, "c")
        rid = repo.create_jobs(
            conn,
            r,
            [
                {
                    "name": "x",
                    "job": "x",
                    "stage": "s",
                    "position": 0,
                    "matrix": {},
                    "needs": [],
                    "state": "success",
                    "allow_failure": False,
                }
            ],
        )["x"]
        insert_outputs(conn, rid, [{"name": "o", "path": "o", "type": "file", "sha256": other, "size": 1}])
    with store_engine.connect() as conn:
        with pytest.raises(Invalid, match="ambiguous") as ambiguous:
            trace.resolve(conn, tmp_path, shared)
        assert sorted(ambiguous.value.details["candidates"]) == sorted([sha("R"), other])
        with pytest.raises(NotFound, match="no recorded artifact"):
            trace.resolve(conn, tmp_path, "0123456789")
        with pytest.raises(Invalid, match="at least 6"):
            trace.resolve(conn, tmp_path, "abc")
        with pytest.raises(NotFound, match="not a file in the workspace"):
            trace.resolve(conn, tmp_path, "missing/file.csv")
        with pytest.raises(NotFound, match="no job 'nope'"):
            trace.resolve(conn, tmp_path, "1:nope.model")
        with pytest.raises(NotFound, match="no recorded job produced"):  # the raw data is only ever read
            trace.backtrace(conn, trace.resolve(conn, tmp_path, sha("RAW")))
        with pytest.raises(NotFound, match="no recorded job read"):
            trace.forward(conn, trace.resolve(conn, tmp_path, sha("R")))


def test_a_workspace_path_is_traced_by_its_current_content(store_engine: Engine, tmp_path: Path) -> None:
    ids = history(store_engine)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "model.pkl").write_text("M")
    with store_engine.connect() as conn:
        found = trace.backtrace(conn, trace.resolve(conn, tmp_path, "out/model.pkl"))
        (tmp_path / "out" / "model.pkl").write_text("changed by hand")
        with pytest.raises(NotFound, match="no recorded job produced"):
            trace.backtrace(conn, trace.resolve(conn, tmp_path, "out/model.pkl"))
    assert found.frames[0].job_id == ids["train1"]
