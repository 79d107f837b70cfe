"""The run verbs. One engine, whatever face calls them.

- Any face (the API, the laptop): :func:`create_run`, :func:`request_cancel`, :func:`request_retry`
  take a connection in the caller's transaction and record; an engine host executes.
- The laptop: :func:`start_run`, :func:`retry_run`, :func:`cancel_run`, :func:`plan_run` take a
  project folder and do the same through an engine host in this process.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from reefline.artifacts.base import ArtifactStore
from reefline.artifacts.hashing import ArtifactError, Hasher
from reefline.artifacts.locate import default_location, open_artifact_store
from reefline.engine.cache import CacheLookup
from reefline.engine.events import RunObserver
from reefline.engine.host import EngineHost, JobEnv, RunSetup
from reefline.engine.liveness import Liveness, own_token
from reefline.engine.states import (
    SUCCESSFUL_JOB_STATES,
    TERMINAL_RUN_STATES,
    JobState,
    RunState,
    check_job_transition,
    check_run_transition,
)
from reefline.engine.workers import store_lookup
from reefline.lineage.provenance import git_provenance
from reefline.plan.ir import Plan, PythonCommand, Step
from reefline.services.compile import compile_text, read_spec
from reefline.services.dry_run import planned_statuses
from reefline.services.project import NoRunsHere, open_existing_db, open_writer_db
from reefline.services.project_policy import project_policy
from reefline.services.types import Conflict, NotFound, PlannedStep, RunOptions, RunOutcome, ServiceError
from reefline.services.workspace_lock import workspace_lock
from reefline.store import repo
from reefline.store.db import DatabaseMissing
from reefline.store.errors import RunNotFound
from reefline.store.repo_lineage import set_run_provenance
from reefline.store.tables import pipelines

if TYPE_CHECKING:
    from reefline.services.audit import Actor


def start_run(
    spec_path: Path, options: RunOptions, observer: RunObserver, cancel: threading.Event
) -> RunOutcome:
    """Validate, compile and run a pipeline in this process until it ends (laptop mode).

    The same path as a server's: :func:`create_run`, then an :class:`EngineHost` of this process
    executes exactly that run (owned by this process, not leased; jobs inherit the environment).
    """
    spec_path = spec_path.resolve()
    policy = project_policy(spec_path.parent)
    compiled = compile_text(read_spec(spec_path), spec_path, options, policy=policy, cached=True)
    workspace = spec_path.parent
    artifacts = workspace_artifacts(workspace)
    provenance = git_provenance(workspace)
    with workspace_lock(workspace):
        # Recovery under the lock: a run of this workspace that still holds it is alive.
        db = open_writer_db(workspace)
        with db.begin() as conn:
            pipeline_id = repo.get_or_create_pipeline(
                conn, compiled.pipeline_name, str(spec_path), time.time()
            )
            run_id = create_run(
                conn,
                pipeline_id=pipeline_id,
                plan=compiled.plan,
                spec_text=compiled.text,
                spec_path=str(spec_path),
                params=compiled.params,
                workspace=workspace,
                options=options,
                trigger=options.trigger,
                revision_id=_laptop_revision(conn, pipeline_id, compiled.text),
                owned=True,
            )
            if provenance is not None:
                set_run_provenance(
                    conn, run_id, commit=provenance.commit, branch=provenance.branch, dirty=provenance.dirty
                )
        return _execute_here(db, run_id, compiled.plan, workspace, options, observer, cancel, artifacts)


def _laptop_revision(conn: sa.Connection, pipeline_id: int, spec_text: str) -> int | None:
    """The revision of the spec text a laptop run runs (``reefline runs`` shows its number)."""
    from reefline.store.repo_pipelines import record_laptop_revision

    return record_laptop_revision(conn, pipeline_id, spec_text)


def _execute_here(  # noqa: PLR0917 - private, called twice
    db: sa.Engine,
    run_id: int,
    plan: Plan,
    workspace: Path,
    options: RunOptions,
    observer: RunObserver,
    cancel: threading.Event,
    artifacts: ArtifactStore,
) -> RunOutcome:
    """Execute one recorded run in this thread with an engine host of this process (the laptop)."""
    parallelism = options.parallelism or os.cpu_count() or 2
    host = EngineHost(db, slots=parallelism, job_env=JobEnv.INHERIT, artifacts=artifacts)
    result = host.execute(
        run_id,
        plan=plan,
        setup=RunSetup(workspace, artifacts=artifacts),
        observer=observer,
        cancel=cancel,
        parallelism=parallelism,
        no_cache=options.no_cache,
    )
    return RunOutcome(run_id, result.state, result.reason)


def create_run(
    conn: sa.Connection,
    *,
    pipeline_id: int,
    plan: Plan,
    spec_text: str,
    spec_path: str,
    params: Mapping[str, Any],
    workspace: str | Path | None,
    options: RunOptions,
    trigger: str,
    triggered_by: int | None = None,
    revision_id: int | None = None,
    owned: bool = False,
    actor: Actor | None = None,
) -> int:
    """Record a run of ``plan`` (compiled by the caller, see ``services.compile``) and its job rows.

    The run is ``queued``: an engine host claims and executes it. ``owned=True`` (the laptop)
    records it ``pending``, owned by this process, which executes it at once
    (:meth:`EngineHost.execute`). ``workspace``: where it runs; None when the host's ``prepare``
    hook decides (e.g. ``ServerHome.workspace(run_id)``). ``actor``: the person who started it,
    recorded in the audit log (``run.create``) in the same transaction.
    """
    now = time.time()
    owner: dict[str, Any] = (
        {"owner_host": socket.gethostname(), "owner_pid": os.getpid(), "owner_token": own_token()}
        if owned
        else {"owner_host": None, "owner_pid": None}
    )
    run_id = repo.create_run(
        conn,
        pipeline_id=pipeline_id,
        spec_text=spec_text,
        spec_path=spec_path,
        spec_hash=hashlib.sha256(spec_text.encode()).hexdigest(),
        params=dict(params),
        workspace="" if workspace is None else str(workspace),
        options={
            "only": list(options.only),
            "from_job": options.from_job,
            "no_cache": options.no_cache,
            "parallelism": options.parallelism,
            **({"reproduces": options.reproduces} if options.reproduces is not None else {}),
        },
        trigger=trigger,
        now=now,
        state=RunState.PENDING if owned else RunState.QUEUED,
        revision_id=revision_id,
        triggered_by=triggered_by,
        **owner,
    )
    repo.create_jobs(
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
                "definition_hash": step.definition_hash or None,
            }
            for i, step in enumerate(plan.steps)
        ],
    )
    if actor is not None:
        _audit(conn, actor, "run.create", run_id, {"trigger": trigger, "revision_id": revision_id})
    return run_id


def request_cancel(conn: sa.Connection, run_id: int, *, actor: Actor | None = None) -> None:
    """Ask the run's engine to cancel it; the host hosting it answers within about a second (a queued
    run is closed as canceled by the host that would have claimed it). NotFound / Conflict (it has
    already finished)."""
    try:
        run = repo.get_run(conn, run_id)
        asked = repo.request_cancel(conn, run_id)
    except RunNotFound:
        raise NotFound(f"no run {run_id}", details={"run_id": run_id}) from None
    if not asked:
        raise Conflict(
            f"run {run_id} already finished ({run.state}); nothing to cancel",
            details={"run_id": run_id, "state": run.state},
        )
    if actor is not None:
        _audit(conn, actor, "run.cancel", run_id, {})


def request_retry(
    conn: sa.Connection,
    run_id: int,
    *,
    no_cache: bool = False,
    parallelism: int | None = None,
    owned: bool = False,
    actor: Actor | None = None,
) -> None:
    """Run again the failed, canceled, skipped and interrupted jobs of a finished run, in that run.

    Its unsuccessful jobs go back to ``pending`` (the history says "retry"; attempts go on from
    where they were, with a new retry budget) and the run to ``queued`` for an engine host.
    ``owned=True`` (the laptop): the run is taken by this process instead, which executes it at
    once. Conflict if the run succeeded or is still going; NotFound if there is none.
    """
    try:
        run = repo.get_run(conn, run_id)
    except RunNotFound:
        raise NotFound(f"no run {run_id}", details={"run_id": run_id}) from None
    state = RunState(run.state)
    if state is RunState.SUCCESS:
        raise Conflict(f"run {run.id} succeeded; there is nothing to retry", details={"run_id": run_id})
    if state not in TERMINAL_RUN_STATES:
        raise Conflict(
            f"run {run.id} is still {state}; cancel it first (`reefline cancel {run.id}`)",
            details={"run_id": run_id, "state": str(state)},
        )
    now = time.time()
    values: dict[str, Any] = {"cancel_requested": False, "heartbeat_at": now, "lease_owner": None}
    if owned:
        values.update(owner_host=socket.gethostname(), owner_pid=os.getpid(), owner_token=own_token())
    else:
        check_run_transition(run.id, state, RunState.QUEUED)
        options = dict(run.options)
        options["no_cache"] = no_cache
        if parallelism is not None:
            options["parallelism"] = parallelism
        values.update(
            state=str(RunState.QUEUED),
            reason=None,
            finished_at=None,
            owner_host=None,
            owner_pid=None,
            owner_token=None,
            lease_expires_at=None,
            options=options,
        )
    if not repo.update_run_if(conn, run.id, run.state, **values):
        raise Conflict(
            f"run {run.id} changed while preparing the retry; try again", details={"run_id": run_id}
        )
    changes = []
    if not owned:
        changes.append(repo.state_change(run.id, None, state, RunState.QUEUED, now, reason="retry"))
    for job in repo.list_jobs(conn, run.id):
        job_state = JobState(job.state)
        if job_state in SUCCESSFUL_JOB_STATES:
            continue
        check_job_transition(job.name, job_state, JobState.PENDING)
        repo.update_job(
            conn,
            job.id,
            state=str(JobState.PENDING),
            reason=None,
            exit_code=None,
            started_at=None,
            finished_at=None,
        )
        changes.append(
            repo.state_change(
                run.id, job.id, job_state, JobState.PENDING, now, reason="retry", attempt=job.attempts
            )
        )
    repo.insert_state_changes(conn, changes)
    if actor is not None:
        _audit(conn, actor, "run.retry", run_id, {"no_cache": no_cache})


def _audit(conn: sa.Connection, actor: Actor, action: str, run_id: int, details: dict[str, object]) -> None:
    from reefline.services import audit

    run = repo.get_run(conn, run_id)
    team_id = conn.execute(sa.select(pipelines.c.team_id).where(pipelines.c.id == run.pipeline_id)).scalar()
    audit.record(
        conn,
        actor,
        action,
        f"run {run.pipeline_name}#{run_id}",
        team_id=team_id,
        details={"run_id": run_id, **details},
    )


def workspace_artifacts(workspace: Path) -> ArtifactStore:
    """The artifact store of this workspace (``$REEFLINE_ARTIFACTS_URL`` or the local folder), reached
    before anything is recorded: a wrong URL is one error (exit 2), not a note on every job."""
    try:
        return open_artifact_store(default_location(workspace))
    except ArtifactError as exc:
        raise ServiceError(f"artifact store: {exc}") from exc


def _local_image_ids() -> Callable[[Step], str | None]:
    """Image ids as the engine would hash them, looked up without pulling anything."""
    from dataclasses import replace

    from reefline.engine.routing import Executors
    from reefline.executors.base import StartError, resolve_image

    executors = Executors(options={"docker": {"clean_leftovers": False}})

    def image_id(step: Step) -> str | None:
        if step.image is None:
            return None
        try:
            peek = replace(step, image=replace(step.image, pull="never"))
            return resolve_image(executors.for_step(step), peek)
        except StartError:
            return None

    return image_id


def plan_run(spec_path: Path, options: RunOptions) -> list[PlannedStep]:
    """What `run` would do, without running or recording anything.

    A step shows as cached when its inputs match an earlier success and so does everything it
    depends on; otherwise it would run (its upstream outputs may change).
    """
    spec_path = spec_path.resolve()
    policy = project_policy(spec_path.parent)
    compiled = compile_text(read_spec(spec_path), spec_path, options, policy=policy, cached=True)
    workspace = spec_path.parent
    hasher = Hasher(workspace)
    store = workspace_artifacts(workspace)
    lookup = None if options.no_cache else _reader_lookup(workspace)
    statuses = planned_statuses(compiled.plan, hasher, lookup, store, _local_image_ids())
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
    stored = RunOptions(
        params=options.params,
        parallelism=options.parallelism or run.options.get("parallelism"),
        only=tuple(run.options.get("only", ())),
        from_job=run.options.get("from_job"),
        no_cache=options.no_cache,
        trigger="retry",
    )
    compiled = compile_text(
        run.spec_text,
        Path(run.spec_path),
        stored,
        resolved_params=run.params,
        policy=project_policy(Path(run.workspace)),
        cached=True,
    )
    with db.begin() as conn:
        request_retry(conn, run.id, no_cache=options.no_cache, owned=True)
    workspace = Path(run.workspace)
    return _execute_here(db, run.id, compiled.plan, workspace, stored, observer, cancel, artifacts)


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
