"""create_run, request_cancel and request_retry on a connection (SQLite and PostgreSQL), and what an
engine host does with them."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from reefline.engine.host import EngineHost
from reefline.services import audit
from reefline.services.audit import Actor
from reefline.services.runs import request_cancel, request_retry
from reefline.services.types import Conflict, NotFound
from reefline.store import repo
from tests.engine.test_host import get_run, queue_run, wait_ended

TWO_JOBS = """
    version: 1
    name: pair
    jobs:
      good: {script: ["echo ran >> good.count"]}
      flaky: {script: ["echo ran >> flaky.count", "test -f fixed"]}
    """


def _history(conn: sa.Connection, run_id: int, job_id: int | None = None) -> list[tuple[str | None, str]]:
    return [(c.from_state, c.to_state) for c in repo.list_state_changes(conn, run_id) if c.job_id == job_id]


def test_create_run_records_a_queued_run_with_its_jobs(store_engine: sa.Engine, tmp_path: Path) -> None:
    run_id = queue_run(store_engine, tmp_path / "w", TWO_JOBS, params={})
    with store_engine.connect() as conn:
        run = repo.get_run(conn, run_id)
        jobs = repo.list_jobs(conn, run_id)
        history = _history(conn, run_id)
    assert run.state == "queued" and run.trigger == "api"
    assert run.owner_pid is None and run.lease_owner is None  # no engine has it yet
    assert run.workspace == str(tmp_path / "w")
    assert [(j.name, j.state) for j in jobs] == [("good", "pending"), ("flaky", "pending")]
    assert history == [(None, "queued")]


def test_request_cancel_refuses_a_finished_or_unknown_run(store_engine: sa.Engine, tmp_path: Path) -> None:
    run_id = queue_run(store_engine, tmp_path / "w", 'version: 1\nname: q\njobs:\n  a: {script: ["true"]}\n')
    host = EngineHost(store_engine, poll_every=0.1)
    host.poll()
    assert host.wait_idle(20)
    with store_engine.begin() as conn, pytest.raises(Conflict, match="already finished") as finished:
        request_cancel(conn, run_id)
    assert finished.value.code == "conflict" and finished.value.details["state"] == "success"
    with store_engine.begin() as conn, pytest.raises(NotFound):
        request_cancel(conn, run_id + 100)


def test_request_cancel_is_recorded_and_audited(store_engine: sa.Engine, tmp_path: Path) -> None:
    run_id = queue_run(store_engine, tmp_path / "w", 'version: 1\nname: q\njobs:\n  a: {script: ["true"]}\n')
    with store_engine.begin() as conn:
        request_cancel(conn, run_id, actor=Actor(None, "10.0.0.7"))
    with store_engine.connect() as conn:
        assert repo.is_cancel_requested(conn, run_id)
        assert repo.get_run(conn, run_id).state == "queued"  # a request: the host acts on it
        (entry,) = audit.entries(conn, team_id=None)
    assert entry.action == "run.cancel" and entry.remote == "10.0.0.7"
    assert entry.details["run_id"] == run_id


def test_request_retry_queues_the_unsuccessful_jobs_and_a_host_runs_only_them(
    store_engine: sa.Engine, tmp_path: Path
) -> None:
    workspace = tmp_path / "w"
    run_id = queue_run(store_engine, workspace, TWO_JOBS)
    host = EngineHost(store_engine, poll_every=0.1)
    host.poll()
    assert host.wait_idle(20)
    assert get_run(store_engine, run_id).state == "failed"
    (workspace / "fixed").touch()

    with store_engine.begin() as conn:
        request_retry(conn, run_id, actor=Actor.system())
    with store_engine.connect() as conn:
        run = repo.get_run(conn, run_id)
        jobs = {j.name: j for j in repo.list_jobs(conn, run_id)}
    assert run.state == "queued" and run.owner_pid is None and not run.cancel_requested
    assert jobs["good"].state == "success" and jobs["flaky"].state == "pending"

    host.poll()
    assert host.wait_idle(20)
    (run,) = wait_ended(store_engine, [run_id])
    assert run.state == "success"
    assert (workspace / "good.count").read_text() == "ran\n"  # kept
    assert (workspace / "flaky.count").read_text() == "ran\nran\n"
    with store_engine.connect() as conn:
        flaky = repo.get_job_by_name(conn, run_id, "flaky")
        assert [a.number for a in repo.list_attempts(conn, flaky.id)] == [1, 2]
        assert _history(conn, run_id) == [
            (None, "queued"),
            ("queued", "running"),
            ("running", "failed"),
            ("failed", "queued"),
            ("queued", "running"),
            ("running", "success"),
        ]
        assert [e.action for e in audit.entries(conn, team_id=None)] == ["run.retry"]


def test_request_retry_refuses_a_successful_or_unfinished_run(
    store_engine: sa.Engine, tmp_path: Path
) -> None:
    run_id = queue_run(store_engine, tmp_path / "w", 'version: 1\nname: q\njobs:\n  a: {script: ["true"]}\n')
    with store_engine.begin() as conn, pytest.raises(Conflict, match="still queued; cancel it first"):
        request_retry(conn, run_id)
    host = EngineHost(store_engine, poll_every=0.1)
    host.poll()
    assert host.wait_idle(20)
    with store_engine.begin() as conn, pytest.raises(Conflict, match="succeeded; there is nothing to retry"):
        request_retry(conn, run_id)
    with store_engine.begin() as conn, pytest.raises(NotFound):
        request_retry(conn, run_id + 100)


def test_a_retry_with_no_cache_is_stored_for_the_host(store_engine: sa.Engine, tmp_path: Path) -> None:
    run_id = queue_run(
        store_engine, tmp_path / "w", 'version: 1\nname: q\njobs:\n  a: {script: ["false"]}\n', parallelism=1
    )
    host = EngineHost(store_engine, poll_every=0.1)
    host.poll()
    assert host.wait_idle(20)
    started = time.time()
    with store_engine.begin() as conn:
        request_retry(conn, run_id, no_cache=True, parallelism=3)
    run = get_run(store_engine, run_id)
    assert run.options["no_cache"] is True and run.options["parallelism"] == 3
    assert run.heartbeat_at is not None and run.heartbeat_at >= started
