"""Pipelines and runs: the contract, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from store_factories import RunFactory

from reefline.engine.liveness import Liveness
from reefline.store import repo
from reefline.store.errors import RunNotFound


def test_get_or_create_pipeline_is_idempotent(store_engine: Engine) -> None:
    with store_engine.begin() as conn:
        first = repo.get_or_create_pipeline(conn, "iris", "/src/iris/reefline.yml", 1.0)
        again = repo.get_or_create_pipeline(conn, "iris", "/src/iris/reefline.yml", 2.0)
        other = repo.get_or_create_pipeline(conn, "iris", "/elsewhere/reefline.yml", 3.0)
    assert first == again != other


def test_create_and_get_run(store_engine: Engine, new_run: RunFactory) -> None:
    with store_engine.begin() as conn:
        run_id = new_run(conn, pipeline="iris", params={"lr": 0.5, "tags": ["a"]}, now=123.5)
    with store_engine.connect() as conn:
        run = repo.get_run(conn, run_id)
    assert run.id == run_id
    assert run.pipeline_name == "iris"
    assert run.state == "pending"
    assert run.params == {"lr": 0.5, "tags": ["a"]}
    assert run.options == {"no_cache": False}
    assert run.created_at == 123.5
    assert run.heartbeat_at == 123.5
    assert (run.owner_host, run.owner_pid) == ("laptop", 4242)
    assert run.cancel_requested is False
    assert run.started_at is None and run.finished_at is None and run.reason is None


def test_update_run(store_engine: Engine, new_run: RunFactory) -> None:
    with store_engine.begin() as conn:
        run_id = new_run(conn)
        repo.update_run(conn, run_id, state="failed", reason="boom", started_at=1.0, finished_at=2.0)
        run = repo.get_run(conn, run_id)
    assert (run.state, run.reason, run.started_at, run.finished_at) == ("failed", "boom", 1.0, 2.0)


def test_update_run_refuses_unknown_run_and_column(store_engine: Engine, new_run: RunFactory) -> None:
    with store_engine.begin() as conn:
        run_id = new_run(conn)
        with pytest.raises(RunNotFound):
            repo.update_run(conn, run_id + 100, state="running")
        with pytest.raises(ValueError, match="no settable column"):
            repo.update_run(conn, run_id, colour="red")


def test_list_runs_newest_first_with_limit_and_pipeline(store_engine: Engine, new_run: RunFactory) -> None:
    with store_engine.begin() as conn:
        ids = [new_run(conn, pipeline="a" if i % 2 else "b", now=float(i)) for i in range(5)]
    with store_engine.connect() as conn:
        assert [run.id for run in repo.list_runs(conn)] == ids[::-1]
        assert [run.id for run in repo.list_runs(conn, limit=2)] == ids[:2:-1]
        assert [run.id for run in repo.list_runs(conn, pipeline="a")] == [ids[3], ids[1]]
        assert repo.list_runs(conn, pipeline="nope") == []


def test_resolve_run_ref(store_engine: Engine, new_run: RunFactory) -> None:
    with store_engine.begin() as conn:
        with pytest.raises(RunNotFound, match="no runs yet"):
            repo.resolve_run_ref(conn, "last")
        first, last = new_run(conn), new_run(conn)
        assert repo.resolve_run_ref(conn, "last") == last
        assert repo.resolve_run_ref(conn, str(first)) == first
        assert repo.resolve_run_ref(conn, f"#{first}") == first
        with pytest.raises(RunNotFound, match=f"no run {last + 1}") as missing:
            repo.resolve_run_ref(conn, str(last + 1))
        assert missing.value.ref == str(last + 1)
        with pytest.raises(RunNotFound, match="'lastt' is not a run"):
            repo.resolve_run_ref(conn, "lastt")
        with pytest.raises(RunNotFound):
            repo.get_run(conn, last + 1)


def test_cancel_request(store_engine: Engine, new_run: RunFactory) -> None:
    with store_engine.begin() as conn:
        running, finished = new_run(conn), new_run(conn)
        repo.update_run(conn, running, state="running")
        repo.update_run(conn, finished, state="success")
        assert repo.is_cancel_requested(conn, running) is False
        assert repo.request_cancel(conn, running) is True
        assert repo.is_cancel_requested(conn, running) is True
        assert repo.request_cancel(conn, finished) is False
        assert repo.is_cancel_requested(conn, finished) is False
        with pytest.raises(RunNotFound):
            repo.request_cancel(conn, finished + 1)


def test_heartbeat(store_engine: Engine, new_run: RunFactory) -> None:
    with store_engine.begin() as conn:
        run_id = new_run(conn, now=10.0)
        repo.heartbeat(conn, run_id, 99.0)
        assert repo.get_run(conn, run_id).heartbeat_at == 99.0


def test_find_interrupted_runs(store_engine: Engine, new_run: RunFactory) -> None:
    alive = {100}
    liveness = Liveness(host="here", now=1000.0, stale_after=30.0, is_alive=alive.__contains__)
    with store_engine.begin() as conn:
        dead_here = new_run(conn, owner_host="here", owner_pid=200, now=990.0)
        live_here = new_run(conn, owner_host="here", owner_pid=100, now=990.0)
        live_elsewhere = new_run(conn, owner_host="there", owner_pid=200, now=990.0)  # pid 200 is not ours
        stale_elsewhere = new_run(conn, owner_host="there", owner_pid=300, now=990.0)
        # On its own host a live pid wins over a stale heartbeat (a suspended terminal).
        stale_here_live_pid = new_run(conn, owner_host="here", owner_pid=100, now=900.0)
        finished_dead = new_run(conn, owner_host="here", owner_pid=200, now=990.0)
        canceling_dead = new_run(conn, owner_host="here", owner_pid=200, now=990.0)
        repo.update_run(conn, finished_dead, state="failed")
        repo.update_run(conn, live_here, state="running")
        repo.update_run(conn, canceling_dead, state="canceling")
        repo.heartbeat(conn, stale_elsewhere, 900.0)
        repo.update_run(conn, dead_here, state="running")

        found = repo.find_interrupted_runs(conn, is_gone=liveness.owner_gone)
    assert [run.id for run in found] == [dead_here, stale_elsewhere, canceling_dead]
    assert {live_here, live_elsewhere, stale_here_live_pid}.isdisjoint(run.id for run in found)
