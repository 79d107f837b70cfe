"""``@reefline.component`` and ``reefline.log_output`` recording into a real store (SQLite and
PostgreSQL): what a call read and wrote, failures, and that recording never breaks the function."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, select

import reefline
from reefline.sdk import recorder
from reefline.store.tables import component_artifacts, component_runs, components


@pytest.fixture
def workspace(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A project folder as the current directory, its runs recorded into ``store_url``."""
    for name in (
        "REEFLINE_SERVER",
        "REEFLINE_TOKEN",
        "REEFLINE_RUN_ID",
        "REEFLINE_JOB_ID",
        "REEFLINE_WORKSPACE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REEFLINE_DATABASE_URL", store_url)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "raw.csv").write_text("a,b\n1,2\n")
    yield tmp_path
    recorder.close()


def _rows(store_url: str) -> tuple[list[Any], list[Any], list[Any]]:
    engine = create_engine(store_url)
    try:
        with engine.connect() as conn:
            return _read(conn)
    finally:
        engine.dispose()


def _read(conn: Connection) -> tuple[list[Any], list[Any], list[Any]]:
    return (
        conn.execute(select(components).order_by(components.c.id)).all(),
        conn.execute(select(component_runs).order_by(component_runs.c.id)).all(),
        conn.execute(select(component_artifacts).order_by(component_artifacts.c.id)).all(),
    )


@reefline.component(name="featurize", owner="alice", description="raw rows to features", kind="featurizer")
def featurize(raw_path: str, out_path: str) -> int:
    text = Path(raw_path).read_text()
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    Path(out_path).write_text(text * 2)
    return len(text)


def test_a_call_records_its_inputs_outputs_and_status(workspace: Path, store_url: str) -> None:
    assert featurize("data/raw.csv", "out/features.csv") == 8  # the result passes through
    [component], [run], artifacts = _rows(store_url)
    assert (component.name, component.kind, component.owner, component.description) == (
        "featurize",
        "featurizer",
        "alice",
        "raw rows to features",
    )
    assert (run.status, run.exception, run.pid, run.job_id) == ("success", None, os.getpid(), None)
    assert run.workspace == str(workspace.resolve()) and run.started_at <= run.finished_at
    import hashlib

    def sha(path: str) -> str:
        return hashlib.sha256((workspace / path).read_bytes()).hexdigest()

    assert [(a.direction, a.path, a.kind, a.sha256, a.size) for a in artifacts] == [
        ("in", "data/raw.csv", "file", sha("data/raw.csv"), 8),
        ("out", "out/features.csv", "file", sha("out/features.csv"), 16),
    ]


def test_a_failing_component_records_failed_and_reraises_the_same_exception(
    workspace: Path, store_url: str
) -> None:
    error = ValueError("row 3 has no label")

    @reefline.component(name="clean")
    def clean(raw_path: str, out_path: str) -> None:
        Path(out_path).write_text("half")
        raise error

    with pytest.raises(ValueError) as raised:
        clean("data/raw.csv", "half.csv")
    assert raised.value is error
    _, [run], artifacts = _rows(store_url)
    assert run.status == "failed"
    assert "Traceback" in run.exception and run.exception.rstrip().endswith("ValueError: row 3 has no label")
    assert [(a.direction, a.path) for a in artifacts] == [("in", "data/raw.csv"), ("out", "half.csv")]


def test_a_path_changed_in_place_is_an_output_and_an_unchanged_one_an_input(
    workspace: Path, store_url: str
) -> None:
    (workspace / "model.txt").write_text("old")

    @reefline.component(name="retrain", outputs=["report"])
    def retrain(data: str, model: str, report: str, folder: str = ".") -> None:
        Path(model).write_text("new")
        Path(report).write_text("declared by parameter name")

    retrain("data/raw.csv", "model.txt", report="report.md")
    _, _, artifacts = _rows(store_url)
    assert sorted((a.direction, a.path) for a in artifacts) == [
        ("in", "data/raw.csv"),
        ("out", "model.txt"),
        ("out", "report.md"),
    ]  # "." (the whole workspace) is never hashed as an artifact


def test_log_output_inside_a_component_tags_its_run_and_outside_is_its_own_run(
    workspace: Path, store_url: str
) -> None:
    @reefline.component(name="predict")
    def predict(features: str) -> str:
        reefline.log_output("prediction-1", inputs=[features])
        return "yes"

    assert predict("data/raw.csv") == "yes"
    (workspace / "p2.json").write_text('{"y": 1}')
    reefline.log_output("prediction-2", inputs=["data/raw.csv"], value="p2.json")
    found, runs, artifacts = _rows(store_url)
    assert [c.name for c in found] == ["predict", "log_output"]
    assert [r.component_id for r in runs] == [found[0].id, found[1].id]
    labelled = {a.label: (a.run_id, a.path, a.kind) for a in artifacts if a.label}
    assert labelled == {
        "prediction-1": (runs[0].id, None, "label"),
        "prediction-2": (runs[1].id, "p2.json", "file"),
    }


def test_an_async_component_is_recorded_and_returns_its_value(workspace: Path, store_url: str) -> None:
    @reefline.component(name="fetch")
    async def fetch(out_path: str) -> str:
        await asyncio.sleep(0)
        Path(out_path).write_text("fetched")
        return "done"

    assert asyncio.run(fetch("fetched.txt")) == "done"
    _, [run], [artifact] = _rows(store_url)
    assert (run.status, artifact.direction, artifact.path) == ("success", "out", "fetched.txt")


def test_a_store_that_cannot_be_written_is_a_warning_not_a_failure(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(
        "REEFLINE_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2"
    )

    @reefline.component(name="score")
    def score(x: int) -> int:
        return x * 2

    @reefline.component(name="explode")
    def explode() -> None:
        raise KeyError("k")

    assert score(21) == 42
    with pytest.raises(KeyError):
        explode()
    reefline.log_output("prediction-3", inputs=["data/raw.csv", "no/such/file"])
    reefline.log_output("")  # a bad id: a warning too
    reefline.log_output("x" * 100_000)
    reefline.component(name="y" * 100_000)(lambda: None)()
    reefline.log_output("a\x00b\x1b[2J")
    err = capsys.readouterr().err
    assert "reefline: warning: could not record the run of component 'score'" in err
    assert "reefline: warning: could not record the run of component 'explode'" in err
    assert "input 'no/such/file' is not a readable file" in err
    assert "could not log output ''" in err
    [long_id] = [line for line in err.splitlines() if "could not log output 'xxxxx" in line]
    assert len(long_id) < 200, "a long id is shortened in the warning"
    [long_name] = [line for line in err.splitlines() if "component 'yyyy" in line]
    assert "y" * 60 not in long_name and "y…:" in long_name, long_name
    control = "could not log output 'a\\x00b\\x1b[2J': ValueError: an output id holds printable characters"
    assert control in err


def test_a_job_link_from_another_database_is_dropped(
    workspace: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REEFLINE_RUN_ID", "7")
    monkeypatch.setenv("REEFLINE_JOB_ID", "12345")  # no such job here: a job of some other database
    monkeypatch.setenv("REEFLINE_ATTEMPT", "1")
    assert featurize("data/raw.csv", "out/f.csv") == 8
    _, [run], _ = _rows(store_url)
    assert (run.job_id, run.attempt) == (None, None)


def test_a_folder_outside_the_workspace_is_hashed_only_when_declared(
    workspace: Path, store_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("elsewhere")
    (outside / "big.bin").write_bytes(b"\0" * 1000)

    @reefline.component(name="scan")
    def scan(prefix: str) -> None: ...

    @reefline.component(name="load", inputs=["folder"])
    def load(folder: str) -> None: ...

    scan(str(outside))
    load(str(outside))
    _, [scanned, loaded], artifacts = _rows(store_url)
    assert [(a.run_id, a.direction, a.path, a.kind) for a in artifacts] == [
        (loaded.id, "in", str(outside), "dir")
    ]
    assert scanned.status == "success"


def test_a_bare_decorator_names_the_component_after_the_function(workspace: Path, store_url: str) -> None:
    @reefline.component
    def summarize(path: str) -> int:
        return len(Path(path).read_text())

    assert summarize("data/raw.csv") == 8 and summarize.__name__ == "summarize"
    assert summarize.reefline_component.name == "summarize"  # type: ignore[attr-defined]
    [component], [run], [artifact] = _rows(store_url)
    assert (component.name, run.status, artifact.path) == ("summarize", "success", "data/raw.csv")


def test_a_registered_kind_is_kept_by_a_decorator_that_names_none(workspace: Path, store_url: str) -> None:
    from reefline.services import components as service
    from reefline.store.component_records import ComponentSpec
    from reefline.store.db import open_database

    engine = open_database(store_url)
    try:
        with engine.begin() as conn:
            service.register(conn, ComponentSpec("scorer", kind="model", owner="carol", description="scores"))
    finally:
        engine.dispose()

    @reefline.component(name="scorer", description="scores rows")
    def scorer(path: str) -> None: ...

    scorer("data/raw.csv")
    [component], _, _ = _rows(store_url)
    assert (component.kind, component.owner, component.description) == ("model", "carol", "scores rows")
