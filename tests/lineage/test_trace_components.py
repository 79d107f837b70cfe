"""Traces that cross between pipeline jobs and component runs (SQLite and PostgreSQL): into a
component through a cached job, across components, from a logged output id, and forward."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine

from reefline.lineage import trace
from reefline.lineage.frames import render, to_json
from reefline.services import components
from reefline.services.types import NotFound
from reefline.store.component_records import ArtifactRecord, ComponentSpec, RunRecord
from tests.lineage.test_trace_store import job, run, sha


def component_run(
    conn: Connection,
    name: str,
    *,
    reads: list[str] = (),  # type: ignore[assignment]
    writes: list[str] = (),  # type: ignore[assignment]
    label: str | None = None,
    at: float = 1000.0,
    job_id: int | None = None,
    pipeline_run: int | None = None,
    status: str = "success",
) -> int:
    """A component run reading and writing the given contents (file ``data/<content>``)."""
    artifacts = [ArtifactRecord("in", f"data/{c}", "file", sha(c), len(c)) for c in reads]
    artifacts += [ArtifactRecord("out", f"data/{c}", "file", sha(c), len(c)) for c in writes]
    if label is not None:
        artifacts.append(ArtifactRecord("out", None, "label", None, None, label))
    record = RunRecord(
        status=status,
        started_at=at - 0.5,
        finished_at=at,
        exception="Traceback …\nValueError: bad" if status == "failed" else None,
        workspace="/src",
        job_id=job_id,
        attempt=1 if job_id is not None else None,
        artifacts=tuple(artifacts),
    )
    return components.record_run(
        conn, ComponentSpec(name, owner="alice"), record, pipeline_run_id=pipeline_run
    )


def test_a_logged_prediction_traces_through_a_component_into_a_cached_pipeline_job(
    store_engine: Engine, tmp_path: Path
) -> None:
    with store_engine.begin() as conn:
        r1 = run(conn, "iris")
        made = component_run(conn, "featurize", reads=["RAW"], writes=["F"], at=999.0)
        train = job(conn, r1, "train", outputs={"model": "M"}, inputs={"features": ("F", None)}, at=1000.0)
        r2 = run(conn, "iris", now=2000.0)
        cached = job(
            conn,
            r2,
            "train",
            outputs={"model": "M"},
            inputs={"features": ("F", None)},
            state="cached",
            cached_from=train,
            at=2000.0,
        )
        served = component_run(conn, "predict", reads=["M"], label="prediction-8812", at=3000.0)
    with store_engine.connect() as conn:
        found = trace.backtrace(conn, trace.resolve(conn, tmp_path, "prediction-8812"))
    assert [(f.kind, f.job, f.component_run_id or f.job_id) for f in found.frames] == [
        ("component", "predict", served),
        ("job", "train", train),  # the cached job's bytes were made by run 1's train
        ("component", "featurize", made),
    ]
    predict, trained, featurize = found.frames
    assert [(link.name, link.frame) for link in predict.inputs] == [("M", 1)]
    assert [link.name for link in predict.outputs] == ["prediction-8812"]
    assert [(link.name, link.frame) for link in trained.inputs] == [("features", 2)]
    assert featurize.inputs[0].frame is None  # RAW: a source
    assert cached not in {f.job_id for f in found.frames}
    text = render(found)
    assert "#0  predict     component run" in text and "#2  featurize   component run" in text
    assert "← #1" in text and "← #2" in text
    frames = to_json(found)["frames"]
    assert [f["kind"] for f in frames] == ["component", "job", "component"]


def test_a_component_inside_a_job_is_the_producer_of_what_it_wrote(
    store_engine: Engine, tmp_path: Path
) -> None:
    with store_engine.begin() as conn:
        r1 = run(conn, "iris")
        prep = job(conn, r1, "prepare", outputs={"features": "F"}, inputs={"raw": ("RAW", None)}, at=1000.0)
        inside = component_run(
            conn, "featurize", reads=["RAW"], writes=["F"], at=999.5, job_id=prep, pipeline_run=r1
        )
        report = job(conn, r1, "report", outputs={"report": "R"}, inputs={"features": ("F", None)}, at=1100.0)
    with store_engine.connect() as conn:
        found = trace.backtrace(conn, trace.resolve(conn, tmp_path, sha("R")[:12]))
    assert [(f.kind, f.job) for f in found.frames] == [("job", "report"), ("component", "featurize")]
    frame = found.frames[1]
    assert (frame.component_run_id, frame.job_id, frame.run_id, frame.in_job) == (inside, prep, r1, "prepare")
    assert f"(in job prepare of run {r1})" in render(found)
    assert found.frames[0].job_id == report


def test_across_components_and_forward_from_a_source(store_engine: Engine, tmp_path: Path) -> None:
    with store_engine.begin() as conn:
        first = component_run(conn, "clean", reads=["RAW"], writes=["C"], at=100.0)
        second = component_run(conn, "featurize", reads=["C"], writes=["F"], at=200.0)
        r1 = run(conn, "iris", now=300.0)
        train = job(conn, r1, "train", outputs={"model": "M"}, inputs={"features": ("F", None)}, at=300.0)
        failed = component_run(conn, "featurize", reads=["C"], writes=["X"], at=250.0, status="failed")
    with store_engine.connect() as conn:
        back = trace.backtrace(conn, trace.resolve(conn, tmp_path, sha("M")[:10]))
        ahead = trace.forward(conn, trace.resolve(conn, tmp_path, sha("RAW")[:10]))
    assert [(f.kind, f.job) for f in back.frames] == [
        ("job", "train"),
        ("component", "featurize"),
        ("component", "clean"),
    ]
    assert [f.component_run_id for f in back.frames[1:]] == [second, first]
    # forward: who read RAW, what read its output, and so on; a failed run feeds nothing
    assert [(f.job, f.derived_from) for f in ahead.frames] == [
        ("clean", None),
        ("featurize", 0),
        ("train", 1),
    ]
    assert failed not in {f.component_run_id for f in ahead.frames}
    assert ahead.frames[2].job_id == train


def test_a_failed_component_is_marked_and_an_unknown_id_names_every_kind_of_target(
    store_engine: Engine, tmp_path: Path
) -> None:
    with store_engine.begin() as conn:
        component_run(conn, "predict", reads=["M"], label="prediction-9", status="failed")
    with store_engine.connect() as conn:
        found = trace.backtrace(conn, trace.resolve(conn, tmp_path, "prediction-9"))
        assert "FAILED" in render(found) and "raised: ValueError: bad" in render(found)
        with pytest.raises(NotFound, match=r"output id logged with reefline\.log_output"):
            trace.resolve(conn, tmp_path, "prediction-10")


def test_depth_stops_at_a_component_and_names_it(store_engine: Engine, tmp_path: Path) -> None:
    with store_engine.begin() as conn:
        made = component_run(conn, "featurize", reads=["RAW"], writes=["F"], at=100.0)
        r1 = run(conn, "iris", now=300.0)
        job(conn, r1, "train", outputs={"model": "M"}, inputs={"features": ("F", None)}, at=300.0)
    with store_engine.connect() as conn:
        found = trace.backtrace(conn, trace.resolve(conn, tmp_path, sha("M")[:10]), depth=0)
    assert found.truncated and [f.job for f in found.frames] == ["train"]
    assert f"← component run {made} (beyond --depth)" in render(found)
