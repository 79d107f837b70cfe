"""End to end: a run whose jobs echo a secret, on SQLite and PostgreSQL. The job gets the value; the
database (every text column of every table), the full log file and the live lines only ever ``****``."""

from __future__ import annotations

import hashlib
import os
import socket
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine

from reefline.engine.logcap import logs_root, read_full_log
from reefline.engine.runner import RunExecution
from reefline.engine.states import JobState, RunState
from reefline.executors.registry import get_executor
from reefline.services import pipelines as pipeline_svc
from reefline.services.compile import compile_text
from reefline.services.secret_box import SecretBox
from reefline.services.secrets import secrets_for_run, set_secret
from reefline.services.types import RunOptions
from reefline.store import repo
from tests.engine.support import Recorder
from tests.services.test_pipelines import setup_team
from tests.services.test_secrets import all_text

VALUE = "tok-9f8e7d6c5b4a-leak-me-not"

SPEC = """\
version: 1
name: leaky
board: research
jobs:
  talk:
    script: |
      echo "token is $API_TOKEN"
      echo "to stderr: $API_TOKEN" >&2
      half="${API_TOKEN%????????????????}"
      printf 'two writes: %s' "$half"
      sleep 0.3
      printf '%s end\\n' "${API_TOKEN#"$half"}"
      for i in 1 2 3 4 5 6 7 8 9 10; do echo "line $i: $API_TOKEN"; done
      printf '%s' "$API_TOKEN" | sha256sum
      mkdir -p out && printf 'done' > out/result.txt
    outputs:
      result: {path: out/result.txt}
  fail:
    retry: 1
    script: |
      echo "failing with $API_TOKEN"
      exit 3
"""


def _run(engine: Engine, workspace: Path, pipeline_id: int, secrets: dict[str, str]) -> tuple[int, Recorder]:
    compiled = compile_text(SPEC, workspace / "reefline.yaml", RunOptions())
    now = time.time()
    with engine.begin() as conn:
        run_id = repo.create_run(
            conn,
            pipeline_id=pipeline_id,
            spec_text=SPEC,
            spec_path=str(workspace / "reefline.yaml"),
            spec_hash=hashlib.sha256(SPEC.encode()).hexdigest(),
            params={},
            workspace=str(workspace),
            options={},
            trigger="api",
            owner_host=socket.gethostname(),
            owner_pid=os.getpid(),
            now=now,
        )
        job_ids = repo.create_jobs(
            conn,
            run_id,
            [
                {
                    "name": step.id,
                    "job": step.job,
                    "stage": step.stage,
                    "position": i,
                    "matrix": dict(step.matrix),
                    "needs": list(step.needs_labels()),
                    "state": str(JobState.PENDING),
                    "allow_failure": step.allow_failure,
                }
                for i, step in enumerate(compiled.plan.steps)
            ],
        )
    recorder = Recorder()
    result = RunExecution(
        db=engine,
        run_id=run_id,
        plan=compiled.plan,
        job_ids=job_ids,
        states=dict.fromkeys(job_ids, JobState.PENDING),
        attempts={},
        workspace=workspace,
        executor=get_executor("local"),
        observer=recorder,
        parallelism=2,
        base_env={"PATH": os.environ["PATH"]},
        secrets=secrets,
    ).execute()
    assert result.state is RunState.FAILED  # the `fail` job; `talk` succeeded
    return run_id, recorder


def test_a_secret_echoed_by_a_job_is_stored_and_shown_only_masked(
    store_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REEFLINE_LOG_MAX_LINES", "6")  # capped: the full log file is written too
    box = SecretBox([Fernet.generate_key()], "a test key")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    with store_engine.begin() as conn:
        team_id, _, actor = setup_team(conn)
        pipeline_id = pipeline_svc.push_revision(conn, actor, team_id=team_id, spec_text=SPEC).pipeline.id
        set_secret(conn, box, actor, team_id=team_id, name="API_TOKEN", value=VALUE)
        secrets = secrets_for_run(conn, box, pipeline_id)
    run_id, recorder = _run(store_engine, workspace, pipeline_id, secrets)

    live = "\n".join(text for _, _, text in recorder.logs)
    assert hashlib.sha256(VALUE.encode()).hexdigest() in live  # the job had the clear value
    assert "token is ****" in live and "two writes: **** end" in live  # one secret in two writes
    assert VALUE not in live

    stored = all_text(store_engine)
    assert VALUE not in stored
    for piece in (VALUE[:12], VALUE[-16:]):  # neither half of the split write got out either
        assert piece not in stored
    assert "token is ****" in stored and "failing with ****" in stored

    full_logs = sorted((logs_root(workspace) / str(run_id)).glob("*.log.gz"))
    assert full_logs, "the capped log should have a full log file"
    full = "\n".join(text for path in full_logs for _, _, text in read_full_log(path))
    assert "to stderr: ****" in full and "line 10: ****" in full
    assert VALUE not in full


def test_a_changed_secret_does_not_change_the_cache_key(store_engine: Engine, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    with store_engine.begin() as conn:
        pipeline_id = repo.get_or_create_pipeline(
            conn, "leaky", str(workspace / "reefline.yaml"), time.time()
        )
    first, _ = _run(store_engine, workspace, pipeline_id, {"API_TOKEN": VALUE})
    second, _ = _run(store_engine, workspace, pipeline_id, {"API_TOKEN": "another-value-entirely"})
    with store_engine.connect() as conn:
        talk = {run: repo.get_job_by_name(conn, run, "talk") for run in (first, second)}
    assert talk[first].cache_key and talk[first].cache_key == talk[second].cache_key
    assert talk[second].state == "cached"
    assert VALUE not in talk[first].cache_key
