"""Recovery on its own: who counts as gone, what closing a run writes, and an owner outlived by it."""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Connection, Engine, text

from reefline.engine.journal import Journal, RunClosedElsewhere
from reefline.engine.liveness import Liveness, own_token, process_token
from reefline.engine.recovery import close_interrupted, recover_interrupted
from reefline.engine.states import JobState, RunState
from reefline.services.project import open_project_db
from reefline.services.queries import iter_logs, list_runs, show_run
from reefline.store import repo
from reefline.store.db import alembic_config, upgrade
from reefline.store.rows import RunRow
from tests.engine.support import Recorder

if TYPE_CHECKING:
    from reefline.engine.events import JobEvent
    from tests.engine.support import Project

NOW = 1000.0


def _run(
    conn: Connection,
    *,
    host: str,
    pid: int,
    token: str | None = None,
    beat: float = NOW,
    workspace: str = "/w",
) -> int:
    """A running run with a running job `a` (attempt 1 open) and a pending job `b`."""
    pipeline_id = repo.get_or_create_pipeline(conn, "p", "/w/reefline.yaml", 900.0)
    run_id = repo.create_run(
        conn,
        pipeline_id=pipeline_id,
        spec_text="",
        spec_path="/w/reefline.yaml",
        spec_hash="0" * 64,
        params={},
        workspace=workspace,
        options={},
        trigger="cli",
        owner_host=host,
        owner_pid=pid,
        owner_token=token,
        now=900.0,
    )
    repo.update_run(conn, run_id, state="running", heartbeat_at=beat, started_at=900.0)
    job = {"job": "j", "stage": "s", "matrix": {}, "needs": [], "allow_failure": False}
    ids = repo.create_jobs(
        conn,
        run_id,
        [
            {**job, "name": "a", "position": 0, "state": "running", "attempts": 1},
            {**job, "name": "b", "position": 1, "state": "pending", "attempts": 0},
        ],
    )
    repo.create_attempt(conn, ids["a"], 1, "running", 950.0)
    return run_id


def _liveness(**overrides: object) -> Liveness:
    values: dict[str, object] = {
        "host": "here",
        "now": NOW,
        "stale_after": 30.0,
        "is_alive": {100}.__contains__,
        "token_of": lambda pid: "boot:100",
    }
    values.update(overrides)
    return Liveness(**values)  # type: ignore[arg-type]


def test_a_run_owned_by_a_dead_pid_is_closed_as_interrupted(store_engine: Engine) -> None:
    with store_engine.begin() as conn:
        run_id = _run(conn, host="here", pid=200)
    assert recover_interrupted(store_engine, _liveness()) == [run_id]
    with store_engine.connect() as conn:
        run = repo.get_run(conn, run_id)
        jobs = {j.name: j for j in repo.list_jobs(conn, run_id)}
        attempt = repo.list_attempts(conn, jobs["a"].id)[0]
        history = repo.list_state_changes(conn, run_id)
    assert run.state == "interrupted" and run.finished_at == NOW
    assert run.reason == "interrupted: the run's process (pid 200 on here) is gone"
    assert (jobs["a"].state, jobs["b"].state) == ("interrupted", "canceled")
    assert (attempt.state, attempt.finished_at) == ("interrupted", NOW)
    assert [(c.job_name, c.from_state, c.to_state, c.attempt) for c in history[-3:]] == [
        (None, "running", "interrupted", None),
        ("a", "running", "interrupted", 1),
        ("b", "pending", "canceled", 0),
    ]
    assert recover_interrupted(store_engine, _liveness()) == []  # closed once


def test_a_live_pid_wins_over_a_stale_heartbeat(store_engine: Engine) -> None:
    with store_engine.begin() as conn:
        run_id = _run(conn, host="here", pid=100, token="boot:100", beat=0.0)  # silent for 1000 s
    assert recover_interrupted(store_engine, _liveness()) == []
    with store_engine.connect() as conn:
        assert repo.get_run(conn, run_id).state == "running"


def test_a_reused_pid_is_not_taken_for_the_owner(store_engine: Engine) -> None:
    with store_engine.begin() as conn:
        run_id = _run(conn, host="here", pid=100, token="boot:42")  # pid 100 is another process now
    assert recover_interrupted(store_engine, _liveness()) == [run_id]


def test_on_another_host_only_the_heartbeat_counts(store_engine: Engine) -> None:
    with store_engine.begin() as conn:
        stale = _run(conn, host="there", pid=100, beat=NOW - 31)
        fresh = _run(conn, host="there", pid=200, beat=NOW - 5)  # pid 200 is dead here, not there
    assert recover_interrupted(store_engine, _liveness()) == [stale]
    with store_engine.connect() as conn:
        assert repo.get_run(conn, fresh).state == "running"
        assert "no heartbeat for 31s" in (repo.get_run(conn, stale).reason or "")


def test_real_processes_alive_dead_and_reused() -> None:
    me = repo_run_row(os.getpid(), own_token())
    assert own_token() is not None and own_token() == process_token(os.getpid())
    assert not Liveness().owner_gone(me)
    child = subprocess.Popen(["sleep", "30"])
    token = process_token(child.pid)
    assert token is not None and not Liveness().owner_gone(repo_run_row(child.pid, token))
    child.kill()
    child.wait()
    assert Liveness().owner_gone(repo_run_row(child.pid, token))  # even if the pid is reused by now
    assert Liveness().owner_gone(repo_run_row(os.getpid(), "another-boot:1"))


def repo_run_row(pid: int, token: str | None) -> RunRow:
    base = RunRow(
        id=1, pipeline_id=1, pipeline_name="p", state="running", trigger="cli", reason=None,
        spec_text="", spec_path="/w", spec_hash="", params={}, workspace="/w", options={},
        created_at=0.0, started_at=0.0, finished_at=None, owner_host=Liveness().host,
        owner_pid=pid, heartbeat_at=0.0, cancel_requested=False,
    )  # fmt: skip
    return replace(base, owner_token=token)


def test_the_owner_of_a_closed_run_is_told_not_crashed(store_engine: Engine) -> None:
    with store_engine.begin() as conn:
        run_id = _run(conn, host="here", pid=200)
    journal = Journal(store_engine, run_id)
    assert recover_interrupted(store_engine, _liveness()) == [run_id]
    with pytest.raises(RunClosedElsewhere, match=f"run {run_id} was closed as interrupted by another"):
        journal.set_run(RunState.SUCCESS, expected=RunState.RUNNING, reason=None)


def test_an_engine_whose_run_is_closed_behind_its_back_ends_saying_so(project: Project) -> None:
    project.write(
        """
        version: 1
        name: outlived
        jobs:
          long: {script: ["sleep 20"]}
        """
    )
    closed = threading.Event()

    def close_it(event: JobEvent) -> None:
        if event.state is JobState.RUNNING and not closed.is_set():
            closed.set()
            db = open_project_db(project.path)
            with db.connect() as conn:
                run = repo.get_run(conn, event.run_id)
            # What a second writer does when it wrongly believes the owner is gone.
            assert close_interrupted(db, run, Liveness())
            db.dispose()

    outcome, recorder = project.run(recorder=Recorder(on_event=close_it))
    assert outcome.state is RunState.INTERRUPTED
    assert "closed as interrupted by another reefline process" in (outcome.reason or "")
    assert recorder.finished is not None and recorder.finished[0] is RunState.INTERRUPTED
    assert list_runs(project.path)[0].state == "interrupted"
    # the closer's job states stand; the owner wrote no transition over them
    job = project.detail().jobs[0].job
    assert job.state in ("interrupted", "canceled")  # as the closer found it (running or queued)
    assert (job.reason or "").startswith("interrupted: the run's process"), job.reason


def test_the_migration_turns_old_interrupted_rows_into_interrupted(store_url: str) -> None:
    from alembic import command

    from reefline.store.db import open_database

    engine = open_database(store_url, migrate=False)
    try:
        with engine.begin() as conn:
            config = alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, "0001")
            conn.execute(
                text("INSERT INTO pipelines (id, name, source_path, created_at) VALUES (1, 'p', '/', 0)")
            )
            for run_id, state, reason in [
                (1, "failed", "interrupted: the reefline process (pid 1 on h) ended"),
                (2, "failed", "failed: build"),
                (3, "canceled", "interrupted"),
            ]:
                conn.execute(
                    text(
                        "INSERT INTO runs (id, pipeline_id, state, trigger, reason, spec_text, spec_path,"
                        " spec_hash, params, workspace, options, created_at, cancel_requested) VALUES"
                        " (:id, 1, :state, 'cli', :reason, '', '', '', '{}', '/', '{}', 0, false)"
                    ),
                    {"id": run_id, "state": state, "reason": reason},
                )
        upgrade(engine)
        with engine.connect() as conn:
            states = {row[0]: row[1] for row in conn.execute(text("SELECT id, state FROM runs ORDER BY id"))}
        assert states == {1: "interrupted", 2: "failed", 3: "canceled"}
    finally:
        engine.dispose()


def test_readers_show_a_dead_owners_run_interrupted_and_write_nothing(project: Project) -> None:
    child = subprocess.Popen(["sleep", "30"])
    token = process_token(child.pid)
    child.kill()
    child.wait()
    db = open_project_db(project.path)
    with db.begin() as conn:
        workspace = str(project.path.resolve())
        run_id = _run(conn, host=Liveness().host, pid=child.pid, token=token, workspace=workspace)
        job_id = repo.list_jobs(conn, run_id)[0].id
        line = {"run_id": run_id, "job_id": job_id, "attempt": 1, "seq": 0, "ts": 950.0}
        repo.insert_log_lines(conn, [{**line, "stream": "stdout", "text": "half way"}])

    def snapshot() -> tuple[object, ...]:
        with db.connect() as conn:
            run = repo.get_run(conn, run_id)
            return (run, repo.list_jobs(conn, run_id), len(repo.list_state_changes(conn, run_id)))

    before = snapshot()
    assert [r.state for r in list_runs(project.path)] == ["interrupted"]
    detail = show_run(project.path, str(run_id))
    assert detail.run.state == "interrupted" and detail.run.finished_at == NOW  # its last heartbeat
    assert [j.job.state for j in detail.jobs] == ["interrupted", "canceled"]
    notices: list[str] = []
    lines = [row.text for _, row in iter_logs(project.path, "last", follow=True, notice=notices.append)]
    assert lines == ["half way"]
    assert notices == [
        f"the run's process (pid {child.pid} on {Liveness().host}) is gone; the run is interrupted"
    ]
    assert snapshot() == before  # nothing written: still `running` in the store
    db.dispose()
