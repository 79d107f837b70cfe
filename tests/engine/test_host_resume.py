"""Engine hosts as real processes: restart-resume after SIGKILL, and two hosts on one PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from reefline.engine.host import EngineHost
from reefline.executors.procscan import find_marked
from reefline.store import repo, repo_runs
from reefline.store.db import open_database
from tests.conftest import fresh_postgres_database
from tests.engine.test_host import get_run, queue_run, wait_ended, wait_for

HOST_SCRIPT = """
import sys, time
from reefline.engine.host import EngineHost
from reefline.store.db import open_database
host = EngineHost(open_database(sys.argv[1]), slots=int(sys.argv[2]), poll_every=0.1, lease_ttl=3.0)
host.start()
time.sleep(600)
"""


def start_host(url: str, slots: int = 2) -> subprocess.Popen[bytes]:
    """An engine host in a process of its own, as ``reefline server --role engine`` runs one."""
    return subprocess.Popen([sys.executable, "-c", HOST_SCRIPT, url, str(slots)])


@pytest.fixture
def db(store_url: str) -> Iterator[sa.Engine]:
    engine = open_database(store_url)
    try:
        yield engine
    finally:
        engine.dispose()


def resume_spec(retry: int, marker: str) -> str:
    # second counts its attempts in a file; the first attempt hangs until the host is killed
    return f"""
        version: 1
        name: resume
        variables: {{REEFLINE_TEST_MARKER: "{marker}"}}
        jobs:
          first: {{script: ["echo ran >> first.count"]}}
          second:
            needs: [first]
            retry: {{max: {retry}}}
            script:
              - echo attempt >> second.count
              - if [ "$(wc -l < second.count)" -eq 1 ]; then sleep 60; fi
          third: {{needs: [second], script: ["echo ran >> third.count"]}}
        """


def _kill_mid_run(url: str, db: sa.Engine, workspace: Path, run_id: int) -> None:
    proc = start_host(url)
    try:
        wait_for((workspace / "second.count").exists, what="the second job to start")
        with db.connect() as conn:
            wait_for(lambda: repo.list_jobs(conn, run_id)[1].state == "running", what="second: running")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert get_run(db, run_id).state == "running"  # nobody closed it


@pytest.mark.parametrize("retry", [1, 0])
def test_a_run_whose_host_was_killed_finishes_on_the_next_host(
    store_url: str, db: sa.Engine, tmp_path: Path, retry: int
) -> None:
    workspace = tmp_path / "w"
    marker = f"resume-{os.getpid()}-{time.time()}"
    run_id = queue_run(db, workspace, resume_spec(retry, marker))
    _kill_mid_run(store_url, db, workspace, run_id)
    assert find_marked({"REEFLINE_TEST_MARKER": marker}), "the killed host's job outlives it"

    host = EngineHost(db, poll_every=0.1).start()
    try:
        wait_ended(db, [run_id])
    finally:
        host.stop()
    # Read after stop: the run's thread releases its lease just after the run's last state is written.
    run = get_run(db, run_id)
    with db.connect() as conn:
        jobs = {job.name: job for job in repo.list_jobs(conn, run_id)}
        second_attempts = [(a.number, a.state) for a in repo.list_attempts(conn, jobs["second"].id)]
        changes = [
            (c.from_state, c.to_state)
            for c in repo.list_state_changes(conn, run_id)
            if c.job_id == jobs["second"].id
        ]
    assert (workspace / "first.count").read_text() == "ran\n"  # kept, not run again
    assert jobs["first"].state == "success" and jobs["first"].attempts == 1
    if retry:
        assert run.state == "success"
        assert second_attempts == [(1, "interrupted"), (2, "success")]
        assert changes == [
            ("pending", "queued"),
            ("queued", "running"),
            ("running", "queued"),  # taken over: a new attempt is due
            ("queued", "running"),
            ("running", "success"),
        ]
        assert (workspace / "third.count").read_text() == "ran\n"
    else:
        assert run.state == "failed" and "second" in (run.reason or "")
        assert jobs["second"].state == "interrupted" and second_attempts == [(1, "interrupted")]
        assert jobs["third"].state == "skipped" and "interrupted" in (jobs["third"].reason or "")
    assert all(job.state != "running" for job in jobs.values())
    assert run.lease_owner is None
    assert (workspace / "second.count").read_text().count("attempt") == (2 if retry else 1)
    # The killed host's job (sleep 60) was stopped by the new host, not left behind.
    assert find_marked({"REEFLINE_TEST_MARKER": marker}) == []


@pytest.mark.postgres
def test_two_engine_processes_on_one_postgresql_run_each_run_once(
    postgres_server_url: str, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger"
    with fresh_postgres_database(postgres_server_url) as url:
        db = open_database(url)
        try:
            spec = f"""
                version: 1
                name: once{{n}}
                jobs:
                  note: {{{{script: ["echo $REEFLINE_RUN_ID >> {ledger}", "sleep 0.3"]}}}}
                """
            ids = [queue_run(db, tmp_path / f"w{n}", spec.format(n=n)) for n in range(10)]
            hosts = [start_host(url), start_host(url)]
            try:
                runs = wait_ended(db, ids, timeout=30)
            finally:
                for proc in hosts:
                    proc.send_signal(signal.SIGTERM)
                for proc in hosts:
                    proc.wait(10)
            assert [r.state for r in runs] == ["success"] * 10
            lines = ledger.read_text().split()
            assert sorted(map(int, lines)) == sorted(ids)  # each run executed once, none twice
            with db.connect() as conn:
                attempts = [repo.list_jobs(conn, i)[0].attempts for i in ids]
            assert attempts == [1] * 10
        finally:
            db.dispose()


def test_a_queued_run_claimed_by_a_host_that_died_before_starting_it_is_claimed_again(
    db: sa.Engine, tmp_path: Path
) -> None:
    run_id = queue_run(db, tmp_path / "w", 'version: 1\nname: c\njobs:\n  a: {script: ["true"]}\n')
    now = time.time()
    with db.begin() as conn:  # what a host leaves behind when it dies right after claiming
        assert repo_runs.claim_queued_runs(
            conn,
            owner="gone:1:x",
            owner_host="elsewhere",
            owner_pid=1,
            owner_token=None,
            now=now - 10,
            until=now - 5,
            limit=5,
        ) == [run_id]
    host = EngineHost(db, poll_every=0.1)
    assert host.poll() == [run_id]
    assert host.wait_idle(20)
    assert get_run(db, run_id).state == "success"
