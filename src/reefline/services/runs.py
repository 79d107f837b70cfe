"""The run verbs: start, dry-run, retry, cancel. One engine, whatever face calls them."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from reefline.artifacts.base import ArtifactStore
from reefline.artifacts.hashing import ArtifactError, Hasher
from reefline.artifacts.locate import default_location, open_artifact_store
from reefline.engine.cache import CacheLookup
from reefline.engine.events import RunObserver
from reefline.engine.liveness import Liveness, own_token
from reefline.engine.runner import RunExecution
from reefline.engine.states import (
    SUCCESSFUL_JOB_STATES,
    TERMINAL_RUN_STATES,
    JobState,
    RunState,
    check_job_transition,
    check_run_transition,
)
from reefline.engine.workers import store_lookup
from reefline.executors.registry import get_executor
from reefline.plan.ir import Plan, PythonCommand
from reefline.services.compile import Compiled, compile_text, read_spec
from reefline.services.dry_run import planned_statuses
from reefline.services.project import NoRunsHere, open_existing_db, open_writer_db
from reefline.services.types import PlannedStep, RunOptions, RunOutcome, ServiceError
from reefline.services.workspace_lock import workspace_lock
from reefline.store import repo
from reefline.store.db import DatabaseMissing


def start_run(
    spec_path: Path, options: RunOptions, observer: RunObserver, cancel: threading.Event
) -> RunOutcome:
    """Validate, compile and run a pipeline in this process until it ends (laptop mode)."""
    spec_path = spec_path.resolve()
    compiled = compile_text(read_spec(spec_path), spec_path, options)
    workspace = spec_path.parent
    artifacts = workspace_artifacts(workspace)
    with workspace_lock(workspace):
        # Recovery under the lock: a run of this workspace that still holds it is alive.
        db = open_writer_db(workspace)
        run_id, job_ids = _create_run(db, compiled, spec_path, workspace, options)
        return _execute(
            db,
            run_id=run_id,
            plan=compiled.plan,
            job_ids=job_ids,
            states=dict.fromkeys(job_ids, JobState.PENDING),
            attempts={},
            workspace=workspace,
            options=options,
            observer=observer,
            cancel=cancel,
            artifacts=artifacts,
        )


def workspace_artifacts(workspace: Path) -> ArtifactStore:
    """The artifact store of this workspace (``$REEFLINE_ARTIFACTS_URL`` or the local folder), reached
    before anything is recorded: a wrong URL is one error (exit 2), not a note on every job."""
    try:
        return open_artifact_store(default_location(workspace))
    except ArtifactError as exc:
        raise ServiceError(f"artifact store: {exc}") from exc


def plan_run(spec_path: Path, options: RunOptions) -> list[PlannedStep]:
    """What `run` would do, without running or recording anything.

    A step shows as cached when its inputs match an earlier success and so does everything it
    depends on; otherwise it would run (its upstream outputs may change).
    """
    spec_path = spec_path.resolve()
    compiled = compile_text(read_spec(spec_path), spec_path, options)
    workspace = spec_path.parent
    hasher = Hasher(workspace)
    store = workspace_artifacts(workspace)
    lookup = None if options.no_cache else _reader_lookup(workspace)
    statuses = planned_statuses(compiled.plan, hasher, lookup, store)
    return [
        PlannedStep(
            name=step.id,
            stage=step.stage,
            needs=step.needs_labels(),  # stage order as one "after stage X", not every job of it
            command=(
                f"python: {step.command.entry}"
                if isinstance(step.command, PythonCommand)
                else "\n".join(step.command.lines)
            ),
            status=statuses[step.id],
        )
        for step in compiled.plan.steps
    ]


def _reader_lookup(workspace: Path) -> CacheLookup | None:
    """Earlier results to compare with; a project that never ran has none (and gets no database).

    An older database is brought up to date (as `run` would): its results still count."""
    try:
        return store_lookup(open_existing_db(workspace))
    except (NoRunsHere, DatabaseMissing):
        return None


def retry_run(
    project_dir: Path, run_ref: str, options: RunOptions, observer: RunObserver, cancel: threading.Event
) -> RunOutcome:
    """Run again the failed, canceled, skipped and interrupted jobs of a finished run, in that same run."""
    db = open_existing_db(project_dir)
    with db.connect() as conn:
        run = repo.get_run(conn, repo.resolve_run_ref(conn, run_ref, str(project_dir.resolve())))
    artifacts = workspace_artifacts(Path(run.workspace))
    with workspace_lock(Path(run.workspace)):
        db = open_writer_db(project_dir)  # recovers the run if its process is gone
        return _retry(db, run.id, options, observer, cancel, artifacts=artifacts)


def _retry(
    db: sa.Engine,
    run_id: int,
    options: RunOptions,
    observer: RunObserver,
    cancel: threading.Event,
    *,
    artifacts: ArtifactStore,
) -> RunOutcome:
    with db.connect() as conn:
        run = repo.get_run(conn, run_id)
        rows = repo.list_jobs(conn, run.id)
    state = RunState(run.state)
    if state is RunState.SUCCESS:
        raise ServiceError(f"run {run.id} succeeded; there is nothing to retry")
    if state not in TERMINAL_RUN_STATES:
        raise ServiceError(f"run {run.id} is still {state}; cancel it first (`reefline cancel {run.id}`)")
    check_run_transition(run.id, state, RunState.RUNNING)
    stored = RunOptions(
        params=options.params,
        parallelism=options.parallelism or run.options.get("parallelism"),
        only=tuple(run.options.get("only", ())),
        from_job=run.options.get("from_job"),
        no_cache=options.no_cache,
        trigger="retry",
    )
    compiled = compile_text(run.spec_text, Path(run.spec_path), stored, resolved_params=run.params)
    job_ids = {row.name: row.id for row in rows}
    states = {row.name: JobState(row.state) for row in rows}
    attempts = {row.name: row.attempts for row in rows}
    now = time.time()
    with db.begin() as conn:
        if not repo.update_run_if(
            conn,
            run.id,
            run.state,
            owner_host=socket.gethostname(),
            owner_pid=os.getpid(),
            owner_token=own_token(),
            cancel_requested=False,
            heartbeat_at=now,
        ):
            raise ServiceError(f"run {run.id} changed while preparing the retry; try again")
        changes = []
        for name, job_state in states.items():
            if job_state not in SUCCESSFUL_JOB_STATES:
                check_job_transition(name, job_state, JobState.PENDING)
                states[name] = JobState.PENDING
                repo.update_job(
                    conn,
                    job_ids[name],
                    state=str(JobState.PENDING),
                    reason=None,
                    exit_code=None,
                    started_at=None,
                    finished_at=None,
                )
                changes.append(
                    repo.state_change(
                        run.id,
                        job_ids[name],
                        job_state,
                        JobState.PENDING,
                        now,
                        reason="retry",
                        attempt=attempts[name],
                    )
                )
        repo.insert_state_changes(conn, changes)
    return _execute(
        db,
        run_id=run.id,
        plan=compiled.plan,
        job_ids=job_ids,
        states=states,
        attempts=attempts,
        workspace=Path(run.workspace),
        options=stored,
        observer=observer,
        cancel=cancel,
        artifacts=artifacts,
    )


def cancel_run(project_dir: Path, run_ref: str) -> int:
    """Ask a run's engine to cancel it (it polls the flag); refuses a finished or orphaned run."""
    db = open_existing_db(project_dir)
    with db.begin() as conn:
        run_id = repo.resolve_run_ref(conn, run_ref, str(project_dir.resolve()))
        run = repo.get_run(conn, run_id)
        liveness = Liveness()
        if RunState(run.state) not in TERMINAL_RUN_STATES and liveness.owner_gone(run):
            raise ServiceError(
                f"run {run_id} is interrupted: {liveness.describe(run)}; nothing to cancel "
                f"(`reefline retry {run_id}` runs what did not finish)"
            )
        if not repo.request_cancel(conn, run_id):
            raise ServiceError(f"run {run_id} already finished ({run.state}); nothing to cancel")
    return run_id


def _create_run(
    db: sa.Engine, compiled: Compiled, spec_path: Path, workspace: Path, options: RunOptions
) -> tuple[int, dict[str, int]]:
    now = time.time()
    with db.begin() as conn:
        pipeline_id = repo.get_or_create_pipeline(conn, compiled.pipeline.name, str(spec_path), now)
        run_id = repo.create_run(
            conn,
            pipeline_id=pipeline_id,
            spec_text=compiled.text,
            spec_path=str(spec_path),
            spec_hash=hashlib.sha256(compiled.text.encode()).hexdigest(),
            params=compiled.params,
            workspace=str(workspace),
            options={
                "only": list(options.only),
                "from_job": options.from_job,
                "no_cache": options.no_cache,
                "parallelism": options.parallelism,
            },
            trigger=options.trigger,
            owner_host=socket.gethostname(),
            owner_pid=os.getpid(),
            owner_token=own_token(),
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
                    "needs": list(step.needs_labels()),  # + "after stage X" for stage order
                    "state": str(JobState.PENDING),
                    "allow_failure": step.allow_failure,
                }
                for i, step in enumerate(compiled.plan.steps)
            ],
        )
    return run_id, job_ids


def _execute(
    db: sa.Engine,
    *,
    run_id: int,
    plan: Plan,
    job_ids: dict[str, int],
    states: dict[str, JobState],
    attempts: dict[str, int],
    workspace: Path,
    options: RunOptions,
    observer: RunObserver,
    cancel: threading.Event,
    artifacts: ArtifactStore,
) -> RunOutcome:
    execution = RunExecution(
        db=db,
        run_id=run_id,
        plan=plan,
        job_ids=job_ids,
        states=states,
        attempts=attempts,
        workspace=workspace,
        executor=get_executor("local"),
        observer=observer,
        parallelism=options.parallelism or os.cpu_count() or 2,
        no_cache=options.no_cache,
        cancel=cancel,
        artifacts=artifacts,
    )
    result = execution.execute()
    return RunOutcome(run_id, result.state, result.reason)
