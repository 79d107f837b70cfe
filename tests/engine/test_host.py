"""The engine host with real processes, on SQLite and PostgreSQL: many runs under one slot limit,
cancel requests, a clean environment for server jobs, the leader lease and stop()."""

from __future__ import annotations

import os
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from reefline.engine.host import EngineHost, RunSetup
from reefline.engine.liveness import Liveness, shown_state
from reefline.engine.states import TERMINAL_RUN_STATES, RunState
from reefline.services.compile import compile_text
from reefline.services.runs import create_run, request_cancel
from reefline.services.types import RunOptions
from reefline.store import repo, repo_runs
from reefline.store.db import open_database
from reefline.store.rows import RunRow
from tests.engine.support import Project


@pytest.fixture
def db(store_url: str) -> Iterator[sa.Engine]:
    engine = open_database(store_url)
    try:
        yield engine
    finally:
        engine.dispose()


def queue_run(db: sa.Engine, workspace: Path, spec: str, **options: object) -> int:
    """Record a queued run of ``spec`` (as the API would) whose workspace is ``workspace``."""
    workspace.mkdir(parents=True, exist_ok=True)
    text = textwrap.dedent(spec)
    path = workspace / "reefline.yaml"
    path.write_text(text)
    run_options = RunOptions(**options)  # type: ignore[arg-type]
    compiled = compile_text(text, path, run_options)
    with db.begin() as conn:
        pipeline_id = repo.get_or_create_pipeline(conn, compiled.pipeline_name, str(path), time.time())
        return create_run(
            conn,
            pipeline_id=pipeline_id,
            plan=compiled.plan,
            spec_text=text,
            spec_path=str(path),
            params=compiled.params,
            workspace=workspace,
            options=run_options,
            trigger="api",
        )


def get_run(db: sa.Engine, run_id: int) -> RunRow:
    with db.connect() as conn:
        return repo.get_run(conn, run_id)


def wait_for(check: Callable[[], bool], timeout: float = 20.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def wait_ended(db: sa.Engine, run_ids: list[int], timeout: float = 20.0) -> list[RunRow]:
    def ended() -> bool:
        return all(RunState(get_run(db, i).state) in TERMINAL_RUN_STATES for i in run_ids)

    wait_for(ended, timeout, f"runs {run_ids} to end")
    return [get_run(db, i) for i in run_ids]


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    points = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    live = most = 0
    for _, step in points:
        live += step
        most = max(most, live)
    return most


def test_runs_of_several_pipelines_share_one_job_slot_limit(db: sa.Engine, tmp_path: Path) -> None:
    timeline = tmp_path / "timeline"
    spec = """
        version: 1
        name: {name}
        variables: {{TIMELINE: "{timeline}"}}
        jobs:
          {jobs}
        """
    job = 'j{i}: {{script: ["s=$(date +%s.%N); sleep 0.3; echo \\"$s $(date +%s.%N)\\" >> \\"$TIMELINE\\""]}}'
    jobs = "\n          ".join(job.format(i=i) for i in range(4))
    ids = [
        queue_run(db, tmp_path / name, spec.format(name=name, timeline=timeline, jobs=jobs))
        for name in ("one", "two", "three")
    ]
    host = EngineHost(db, slots=2, poll_every=0.1).start()
    try:
        runs = wait_ended(db, ids)
    finally:
        host.stop()
    assert [r.state for r in runs] == ["success"] * 3
    intervals = [tuple(map(float, line.split())) for line in timeline.read_text().splitlines()]
    assert len(intervals) == 12
    assert max_overlap(intervals) == 2  # type: ignore[arg-type]  # never more than the slots, and both used
    with db.connect() as conn:
        history = [
            (c.from_state, c.to_state) for c in repo.list_state_changes(conn, ids[0]) if c.job_id is None
        ]
    assert history == [(None, "queued"), ("queued", "running"), ("running", "success")]


def test_a_cancel_request_ends_a_hosted_run_promptly_and_leaves_the_others(
    db: sa.Engine, tmp_path: Path
) -> None:
    long = queue_run(db, tmp_path / "long", 'version: 1\nname: long\njobs:\n  wait: {script: ["sleep 30"]}\n')
    short = queue_run(
        db, tmp_path / "short", 'version: 1\nname: short\njobs:\n  nap: {script: ["sleep 1.5"]}\n'
    )
    host = EngineHost(db, slots=4, poll_every=0.1).start()
    try:
        wait_for(lambda: get_run(db, long).state == "running" and get_run(db, short).state == "running")
        with db.connect() as conn:
            wait_for(lambda: repo.list_jobs(conn, long)[0].state == "running", what="the job to start")
        with db.begin() as conn:
            request_cancel(conn, long)
        asked = time.monotonic()
        (canceled,) = wait_ended(db, [long], timeout=10)
        took = time.monotonic() - asked
        (other,) = wait_ended(db, [short])
    finally:
        host.stop()
    assert canceled.state == "canceled" and "reefline cancel" in (canceled.reason or "")
    assert took < 8  # generous: the host polls every 0.5 s, the job gets SIGTERM at once
    assert other.state == "success"


def test_a_run_canceled_while_queued_never_starts(db: sa.Engine, tmp_path: Path) -> None:
    run_id = queue_run(db, tmp_path / "w", 'version: 1\nname: q\njobs:\n  a: {script: ["touch ran"]}\n')
    with db.begin() as conn:
        request_cancel(conn, run_id)
    host = EngineHost(db, poll_every=0.1)
    host.poll()
    host.wait_idle(10)
    run = get_run(db, run_id)
    assert run.state == "canceled"
    assert not (tmp_path / "w" / "ran").exists()
    with db.connect() as conn:
        history = [(c.from_state, c.to_state) for c in repo.list_state_changes(conn, run_id)]
        assert repo.list_jobs(conn, run_id)[0].state == "canceled"
    assert history == [(None, "queued"), ("queued", "canceled"), ("pending", "canceled")]


ENV_SPEC = """
    version: 1
    name: env
    variables: {FROM_SPEC: "spec-value"}
    jobs:
      show: {script: ["env > env.txt"]}
    """


def _env_of(path: Path) -> dict[str, str]:
    pairs = (line.partition("=") for line in path.read_text().splitlines() if "=" in line)
    return {name: value for name, _, value in pairs}


def test_server_jobs_get_a_clean_environment_and_the_laptop_keeps_the_users(
    db: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REEFLINE_DATABASE_URL", "postgresql://admin:hunter2@db/reefline")
    monkeypatch.setenv("REEFLINE_SECRET_KEY", "not-for-jobs")
    monkeypatch.setenv("PLANTED_ADMIN_VARIABLE", "planted")
    workspace = tmp_path / "server-ws"
    run_id = queue_run(db, workspace, ENV_SPEC)

    def prepare(run: RunRow) -> RunSetup:
        return RunSetup(Path(run.workspace), secrets={"API_TOKEN": "s3cret-token"})

    host = EngineHost(db, poll_every=0.1, prepare=prepare)
    host.poll()
    assert host.wait_idle(20)
    assert get_run(db, run_id).state == "success"
    env = _env_of(workspace / "env.txt")
    assert "REEFLINE_DATABASE_URL" not in env and "REEFLINE_SECRET_KEY" not in env
    assert "PLANTED_ADMIN_VARIABLE" not in env
    assert Path(env["HOME"]).is_relative_to(workspace) and Path(env["HOME"]).is_dir()
    assert Path(env["TMPDIR"]).is_relative_to(workspace)
    assert env["FROM_SPEC"] == "spec-value" and env["API_TOKEN"] == "s3cret-token"
    assert env["PATH"] and env["LANG"]

    # The laptop: the same engine, but jobs inherit the user's environment.
    monkeypatch.delenv("REEFLINE_DATABASE_URL")
    laptop = Project(tmp_path / "laptop")
    laptop.path.mkdir()
    laptop.write(ENV_SPEC)
    outcome, _ = laptop.run()
    assert outcome.state is RunState.SUCCESS
    env = _env_of(laptop.path / "env.txt")
    assert env["PLANTED_ADMIN_VARIABLE"] == "planted"
    assert env["HOME"] == os.environ["HOME"]


def test_one_host_is_the_leader_until_it_stops(db: sa.Engine) -> None:
    first, second = EngineHost(db), EngineHost(db)
    first.poll()
    second.poll()
    assert first.is_leader and not second.is_leader
    first.stop()
    second._last_renew = 0.0  # renew at the next round, not after lease_ttl / 4
    second.poll()
    assert second.is_leader
    second.stop()


def test_stop_cancels_the_hosted_runs_and_releases_their_leases(db: sa.Engine, tmp_path: Path) -> None:
    run_id = queue_run(db, tmp_path / "w", 'version: 1\nname: s\njobs:\n  wait: {script: ["sleep 30"]}\n')
    host = EngineHost(db, poll_every=0.1, grace=1.0).start()
    with db.connect() as conn:
        wait_for(lambda: repo.list_jobs(conn, run_id)[0].state == "running", what="the job to start")
    stopper = threading.Thread(target=host.stop, kwargs={"grace": 10})
    stopper.start()
    stopper.join(15)
    assert not stopper.is_alive()
    run = get_run(db, run_id)
    assert run.state == "canceled" and run.reason == "canceled: the engine host stopped"
    assert run.lease_owner is None


def test_readers_show_a_run_whose_host_let_its_lease_expire_as_interrupted_but_a_queued_one_as_queued(
    db: sa.Engine, tmp_path: Path
) -> None:
    run_id = queue_run(db, tmp_path / "w", 'version: 1\nname: r\njobs:\n  a: {script: ["true"]}\n')
    now = time.time()
    with db.begin() as conn:  # claimed by a host on another machine, whose lease ran out
        repo_runs.claim_queued_runs(
            conn,
            owner="far:7:x",
            owner_host="far-away",
            owner_pid=7,
            owner_token=None,
            now=now - 60,
            until=now - 45,
            limit=1,
        )
    queued = get_run(db, run_id)
    assert shown_state(queued, Liveness()) is RunState.QUEUED  # another host will claim it
    running = replace(queued, state="running")
    assert shown_state(running, Liveness()) is RunState.INTERRUPTED
    assert "let its lease expire" in Liveness().describe(running)
    held = replace(running, lease_expires_at=now + 10)
    assert shown_state(held, Liveness()) is RunState.RUNNING


def test_stop_with_finish_lets_the_hosted_runs_end_on_their_own(db: sa.Engine, tmp_path: Path) -> None:
    run_id = queue_run(db, tmp_path / "w", 'version: 1\nname: f\njobs:\n  nap: {script: ["sleep 1"]}\n')
    host = EngineHost(db, poll_every=0.1).start()
    with db.connect() as conn:
        wait_for(lambda: repo.list_jobs(conn, run_id)[0].state == "running", what="the job to start")
    host.stop(grace=15, finish=True)
    assert host.hosted() == []
    run = get_run(db, run_id)
    assert run.state == "success" and run.lease_owner is None


def test_a_host_that_lost_its_lease_stops_the_jobs_and_writes_no_more_states(
    db: sa.Engine, tmp_path: Path
) -> None:
    run_id = queue_run(db, tmp_path / "w", 'version: 1\nname: l\njobs:\n  wait: {script: ["sleep 30"]}\n')
    host = EngineHost(db, poll_every=0.05, lease_ttl=0.4).start()
    try:
        with db.connect() as conn:
            wait_for(lambda: repo.list_jobs(conn, run_id)[0].state == "running", what="the job to start")
        with db.begin() as conn:  # another host took it over (this one was paused past its lease)
            repo.update_run(conn, run_id, lease_owner="thief:1:x", lease_expires_at=time.time() + 600)
        assert host.wait_idle(15)
    finally:
        host.stop()
    with db.connect() as conn:
        run = repo.get_run(conn, run_id)
        (job,) = repo.list_jobs(conn, run_id)
    assert run.state == "running" and run.lease_owner == "thief:1:x"  # the thief's to write now
    assert job.state == "running"
