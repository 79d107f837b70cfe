"""Outputs, inputs, metrics and the cache lookup."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine
from store_factories import RunFactory, job_rows

from reefline.store import repo
from reefline.store.repo_artifacts import list_output_history


def _output(name: str, digest: str = "a", size: int = 10) -> dict[str, Any]:
    return {"name": name, "path": f"out/{name}.bin", "type": "file", "sha256": digest * 64, "size": size}


def _job(conn: Connection, new_run: RunFactory, *, cache_key: str | None, state: str) -> int:
    job_id = repo.create_jobs(conn, new_run(conn), job_rows(1))["job0"]
    repo.update_job(conn, job_id, cache_key=cache_key, state=state)
    return job_id


def test_outputs_by_job(store_engine: Engine, new_run: RunFactory) -> None:
    with store_engine.begin() as conn:
        run_id = new_run(conn)
        ids = repo.create_jobs(conn, run_id, job_rows(3))
        repo.insert_outputs(conn, ids["job0"], [_output("model", size=2**40), _output("report")])
        repo.insert_outputs(conn, ids["job2"], [_output("plot")])
        repo.insert_outputs(conn, ids["job1"], [])
        by_job = repo.list_outputs(conn, run_id)
    assert set(by_job) == {ids["job0"], ids["job2"]}
    assert [o.name for o in by_job[ids["job0"]]] == ["model", "report"]
    assert by_job[ids["job0"]][0].size == 2**40
    assert by_job[ids["job2"]][0].path == "out/plot.bin"


def test_outputs_recorded_again_replace_the_old_ones(store_engine: Engine, new_run: RunFactory) -> None:
    with store_engine.begin() as conn:
        job_id = repo.create_jobs(conn, new_run(conn), job_rows(1))["job0"]
        repo.insert_outputs(conn, job_id, [_output("model", "a"), _output("report", "a")])
        repo.insert_outputs(conn, job_id, [_output("model", "b")])
        outputs = repo.list_job_outputs(conn, job_id)
    assert sorted((o.name, o.sha256[0]) for o in outputs) == [("model", "b"), ("report", "a")]


def test_each_attempt_keeps_its_outputs_and_readers_see_the_newest(
    store_engine: Engine, new_run: RunFactory
) -> None:
    uri = "file:///store/b"
    with store_engine.begin() as conn:
        job_id = repo.create_jobs(conn, new_run(conn), job_rows(1))["job0"]
        repo.insert_outputs(conn, job_id, [{**_output("model", "a"), "attempt": 1, "recorded_at": 5.0}])
        repo.insert_outputs(
            conn, job_id, [{**_output("model", "b"), "attempt": 3, "uri": uri, "recorded_at": 9.5}]
        )
        newest = repo.list_job_outputs(conn, job_id)
        by_job = repo.list_outputs(conn, repo.get_job(conn, job_id).run_id)
        every = list_output_history(conn, job_id)
    assert [(o.attempt, o.sha256[0], o.uri, o.recorded_at) for o in newest] == [(3, "b", uri, 9.5)]
    assert by_job[job_id] == newest
    assert [(o.attempt, o.sha256[0], o.uri) for o in every] == [(1, "a", None), (3, "b", uri)]


def test_inputs(store_engine: Engine, new_run: RunFactory) -> None:
    with store_engine.begin() as conn:
        ids = repo.create_jobs(conn, new_run(conn), job_rows(2))
        repo.insert_inputs(
            conn,
            ids["job1"],
            [{**_output("data"), "producer_job_id": ids["job0"]}, _output("raw")],
        )
        inputs = repo.list_inputs(conn, ids["job1"])
    assert [(i.name, i.producer_job_id) for i in inputs] == [("data", ids["job0"]), ("raw", None)]


def test_metrics(store_engine: Engine, new_run: RunFactory) -> None:
    with store_engine.begin() as conn:
        run_id = new_run(conn)
        ids = repo.create_jobs(conn, run_id, job_rows(2))
        repo.insert_metrics(conn, run_id, ids["job0"], {"test.accuracy": 0.9, "loss": 0.3})
        repo.insert_metrics(conn, run_id, ids["job0"], {"loss": 0.2})  # recorded again: replaced
        repo.insert_metrics(conn, run_id, ids["job1"], {"test.accuracy": 0.8})
        repo.insert_metrics(conn, run_id, ids["job1"], {})
        metrics = repo.list_metrics(conn, run_id)
    assert sorted((m.job_id, m.key, m.value) for m in metrics) == [
        (ids["job0"], "loss", 0.2),
        (ids["job0"], "test.accuracy", 0.9),
        (ids["job1"], "test.accuracy", 0.8),
    ]


def test_cache_miss(store_engine: Engine, new_run: RunFactory) -> None:
    with store_engine.begin() as conn:
        _job(conn, new_run, cache_key="k", state="failed")
        _job(conn, new_run, cache_key="k", state="running")
        assert repo.find_cache_hit(conn, "k") is None
        assert repo.find_cache_hit(conn, "other") is None


def test_cache_hit_on_a_successful_job(store_engine: Engine, new_run: RunFactory) -> None:
    with store_engine.begin() as conn:
        old = _job(conn, new_run, cache_key="k", state="success")
        repo.insert_outputs(conn, old, [_output("model", "a")])
        new = _job(conn, new_run, cache_key="k", state="success")
        repo.insert_outputs(conn, new, [_output("model", "b")])
        hit = repo.find_cache_hit(conn, "k")
    assert hit is not None
    job_id, outputs = hit
    assert job_id == new and [o.sha256[0] for o in outputs] == ["b"]


def test_cache_hit_follows_cached_from_to_the_original(store_engine: Engine, new_run: RunFactory) -> None:
    with store_engine.begin() as conn:
        original = _job(conn, new_run, cache_key="k", state="success")
        repo.insert_outputs(conn, original, [_output("model"), _output("report")])
        first_copy = _job(conn, new_run, cache_key="k", state="cached")
        repo.update_job(conn, first_copy, cached_from_job_id=original)
        copy_of_copy = _job(conn, new_run, cache_key="k", state="cached")
        repo.update_job(conn, copy_of_copy, cached_from_job_id=first_copy)
        _job(conn, new_run, cache_key="k", state="failed")  # newer, but not a hit
        hit = repo.find_cache_hit(conn, "k")
    assert hit is not None
    job_id, outputs = hit
    assert job_id == original
    assert [o.name for o in outputs] == ["model", "report"]


def test_cache_hit_skips_cached_job_whose_original_is_gone(store_engine: Engine, new_run: RunFactory) -> None:
    with store_engine.begin() as conn:
        original = _job(conn, new_run, cache_key="k", state="success")
        orphan = _job(conn, new_run, cache_key="k", state="cached")  # cached_from deleted (SET NULL)
        hit = repo.find_cache_hit(conn, "k")
    assert hit == (original, [])
    assert orphan > original
