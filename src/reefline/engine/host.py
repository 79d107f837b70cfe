"""The engine host: executes many runs at once under one job-slot limit, claimed from the store.

A server runs one :class:`EngineHost` (``start()`` … ``stop()``): its loop claims queued runs by
lease, takes over started runs whose lease expired (their host died: restart-resume), renews its
leases and holds the ``leader`` lease when no other host does. Each run executes in a thread of
its own (a :class:`RunExecution`); every attempt of every run takes a slot of one shared
:class:`JobSlots`. A laptop's ``reefline run`` uses :meth:`EngineHost.execute` on the run it just
created: the same execution path, in the calling thread, without a lease (the run is owned by the
process, see engine/liveness.py).

Leases: a host renews its runs' leases every ``lease_ttl / 4`` seconds. A run whose lease is past
its expiry, or whose host on this machine is gone (dead pid), is taken over by the next host that
looks; claiming and taking over are compare-and-set writes, so each run has one host at a time,
also with several hosts on one database. A host that finds its lease taken (it was paused for
longer than the lease) stops its jobs and writes nothing more about that run.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa

from reefline.artifacts.base import ArtifactStore
from reefline.engine.events import NullObserver, RunObserver
from reefline.engine.journal import Journal, RunClosedElsewhere
from reefline.engine.lease import Leases
from reefline.engine.liveness import Liveness
from reefline.engine.recovery import kill_leftovers, retry_bases, take_over
from reefline.engine.routing import Executors
from reefline.engine.run_setup import JobEnv, Prepare, RunSetup, clean_env, plan_of, stored_workspace
from reefline.engine.runner import RunExecution, RunResult
from reefline.engine.slots import JobSlots
from reefline.engine.states import (
    TERMINAL_JOB_STATES,
    JobState,
    RunState,
    check_job_transition,
    check_run_transition,
)
from reefline.executors.base import Executor
from reefline.plan.ir import Plan
from reefline.store import repo
from reefline.store.rows import RunRow

__all__ = ["EngineHost", "JobEnv", "Prepare", "RunSetup", "clean_env", "plan_of"]

log = logging.getLogger(__name__)


class EngineHost:
    """Executes runs of the database ``db``; see the module's docstring.

    - ``slots``: job processes alive at once, over every run of this host (default: CPU count).
    - ``max_runs``: runs executed at once (claimed beyond that: none until one ends).
    - ``job_env``: :class:`JobEnv` (servers: ``clean``; the laptop: ``inherit``).
    - ``prepare``: a :data:`Prepare` hook (default: the run's stored workspace, no secrets).
    - ``artifacts``: the artifact store shared by the runs (None: each workspace's default).
    - ``executor``: every job goes to this one (tests); default: each job to the executor it names
      (``executor_options``: constructor options per executor name). ``observer``: one per run id
      (default: none).
    - ``lease_ttl``: seconds a lease lasts without renewal; ``poll_every``: seconds between looks
      for queued runs; ``grace``: seconds a canceled job gets between SIGTERM and SIGKILL.
    """

    def __init__(
        self,
        db: sa.Engine,
        *,
        slots: int | None = None,
        max_runs: int = 32,
        job_env: JobEnv | str = JobEnv.CLEAN,
        prepare: Prepare | None = None,
        artifacts: ArtifactStore | None = None,
        executor: Executor | None = None,
        executor_options: Mapping[str, Mapping[str, Any]] | None = None,
        observer: Callable[[int], RunObserver] | None = None,
        lease_ttl: float = 15.0,
        poll_every: float = 0.5,
        grace: float = 5.0,
    ) -> None:
        self.db = db
        self.slots = JobSlots(slots or os.cpu_count() or 2)
        self.max_runs = max(1, max_runs)
        self.job_env = JobEnv(job_env)
        self.prepare = prepare or stored_workspace
        self.artifacts = artifacts
        self.executor = executor
        self.executors = Executors(fixed=executor, options=executor_options)
        self.observer = observer or (lambda run_id: NullObserver())
        self.poll_every = poll_every
        self.grace = grace
        self.leases = Leases(db, lease_ttl)
        self.owner = self.leases.owner
        """This host's name in ``runs.lease_owner`` and ``engine_leases.owner``."""
        self._lock = threading.Lock()
        self._executions: dict[int, RunExecution] = {}  # hosted runs that got as far as executing
        self._threads: dict[int, threading.Thread] = {}  # every hosted run (claimed by the loop)
        self._results: dict[int, RunResult] = {}
        self._stopping = threading.Event()
        self._wakeup = threading.Event()
        self._loop_thread: threading.Thread | None = None
        self._last_renew = 0.0

    # ------------------------------------------------------------------ server: the loop

    def start(self) -> EngineHost:
        """Take over what expired, then claim and renew in a background thread until :meth:`stop`."""
        if self._loop_thread is None:
            self._loop_thread = threading.Thread(target=self._loop, name="reefline-engine-host", daemon=True)
            self._loop_thread.start()
        return self

    def poll(self) -> list[int]:
        """One round of the loop: renew leases, hold the leader lease, take over expired runs and
        claim queued ones while there is room. Returns the ids of the runs it began hosting."""
        now = time.time()
        if now - self._last_renew >= self.leases.ttl / 4:
            self._last_renew = now
            for run_id in self.leases.renew(self.hosted(), now):
                self._lost(run_id)
        started: list[int] = []
        if self._stopping.is_set():
            return started
        for run in self.leases.due_for_takeover(set(self.hosted()), now):
            if self._room() and self.leases.take_over(run, now):
                self._host(run.id, run)
                started.append(run.id)
        claimed = self.leases.claim_queued(self._room(), now)
        for run_id in claimed:
            self._host(run_id, None)
        return started + claimed

    def hosted(self) -> list[int]:
        """The runs this host is executing now."""
        with self._lock:
            return sorted(self._threads)

    def result(self, run_id: int) -> RunResult | None:
        """How a run hosted by this host ended (None: not hosted here, or not ended yet)."""
        with self._lock:
            return self._results.get(run_id)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no run is hosted here; False if some still are after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while self.hosted():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def stop(self, grace: float = 10.0, *, finish: bool = False) -> None:
        """Stop claiming; end the hosted runs; release the leases.

        ``finish=False`` (default): every hosted run is canceled (recorded ``canceled``, reason
        "the engine host stopped"); its jobs get the host's ``grace`` between SIGTERM and SIGKILL.
        ``finish=True``: the runs go on to their end. Either way this waits up to ``grace`` seconds
        for them; a run still going after that keeps its lease until it expires and is then taken
        over by the next host (restart-resume).
        """
        self._stopping.set()
        self._wakeup.set()
        if self._loop_thread is not None:
            self._loop_thread.join()
            self._loop_thread = None
        deadline = time.monotonic() + grace
        while self.hosted() and time.monotonic() < deadline:
            if not finish:  # also a run whose execution began after the first look
                with self._lock:
                    for execution in self._executions.values():
                        if not execution.cancel_event.is_set():
                            execution.cancel_reason = "canceled: the engine host stopped"
                            execution.cancel_event.set()
            if time.time() - self._last_renew >= self.leases.ttl / 4:  # still ours while we wait
                self._last_renew = time.time()
                with contextlib.suppress(sa.exc.SQLAlchemyError):
                    for run_id in self.leases.renew(self.hosted()):
                        self._lost(run_id)
            time.sleep(0.05)
        self.leases.release_leader()

    @property
    def is_leader(self) -> bool:
        """Whether this host held the database's ``leader`` lease at its last renewal."""
        return self.leases.is_leader

    def __enter__(self) -> EngineHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.poll()
            except Exception:  # the database is away: try again next round
                log.exception("engine host %s: a round of claiming failed", self.owner)
            self._wakeup.wait(self.poll_every)
            self._wakeup.clear()

    def wake(self) -> None:
        """Look for queued runs and cancel requests now, not at the next poll (a run was just queued)."""
        self._wakeup.set()

    def _room(self) -> int:
        with self._lock:
            return max(0, self.max_runs - len(self._threads))

    def _lost(self, run_id: int) -> None:
        """Another host took the run over: stop its jobs here, and write nothing more about it."""
        with self._lock:
            execution = self._executions.get(run_id)
        if execution is None:
            return
        log.warning("engine host %s lost its lease on run %d; stopping its jobs here", self.owner, run_id)
        execution.journal.closed_elsewhere = RunClosedElsewhere(
            run_id, RunState.RUNNING, "its lease expired and another engine host took it over"
        )
        execution.cancel_event.set()

    def _host(self, run_id: int, previous: RunRow | None) -> None:
        def target() -> None:
            try:
                self._run_claimed(run_id, previous)
            except Exception:
                log.exception("engine host %s: run %d broke off", self.owner, run_id)
            finally:
                self.leases.release(run_id)
                with self._lock:
                    self._threads.pop(run_id, None)
                    self._executions.pop(run_id, None)

        thread = threading.Thread(target=target, name=f"reefline-run-{run_id}", daemon=True)
        with self._lock:
            self._threads[run_id] = thread
        thread.start()

    def _run_claimed(self, run_id: int, previous: RunRow | None) -> None:
        """Execute a run this host claimed (``previous``: the row as its dead host left it)."""
        with self.db.connect() as conn:
            run = repo.get_run(conn, run_id)
        if previous is not None and previous.owner_host == self.leases.host:
            kill_leftovers(run_id, previous.workspace)
        if RunState(run.state) is RunState.QUEUED and run.cancel_requested:
            self._cancel_queued(run)
            return
        observer = self.observer(run_id)
        try:
            plan = plan_of(run)
            setup = self.prepare(run)
        except Exception as exc:
            self._fail_before_start(run, f"could not start the run: {exc}")
            return
        result = self.execute(run_id, plan=plan, setup=setup, observer=observer, taken_over=previous)
        with self._lock:
            self._results[run_id] = result

    # ------------------------------------------------------------------ one run

    def execute(
        self,
        run_id: int,
        *,
        plan: Plan | None = None,
        setup: RunSetup | None = None,
        observer: RunObserver | None = None,
        cancel: threading.Event | None = None,
        parallelism: int | None = None,
        no_cache: bool | None = None,
        taken_over: RunRow | None = None,
    ) -> RunResult:
        """Execute the recorded run ``run_id`` in this thread until it ends, and return how it ended.

        The laptop calls this on the run it created (state ``pending``, owned by this process) or
        the one it retries; the host's own threads call it on the runs they claimed. ``plan``:
        already compiled (default: compiled from the stored spec). ``taken_over``: the run as a
        dead host left it (its jobs are continued, see :func:`reefline.engine.recovery.take_over`).
        ``parallelism``/``no_cache`` default to the run's stored options.
        """
        with self.db.connect() as conn:
            run = repo.get_run(conn, run_id)
        plan = plan if plan is not None else plan_of(run)
        setup = setup or stored_workspace(run)
        retries = {step.id: step.retry.max for step in plan.steps}
        with self.db.begin() as conn:
            if str(setup.workspace) != run.workspace:
                repo.update_run(conn, run_id, workspace=str(setup.workspace))
            if taken_over is not None:
                reason = f"interrupted: {Liveness(host=self.leases.host).describe(taken_over)}"
                resumed = take_over(conn, run, retries, reason=reason, now=time.time())
                states, attempts, bases = resumed.states, resumed.attempts, resumed.bases
                job_ids = resumed.job_ids
                closed = resumed.closed
            else:
                rows = repo.list_jobs(conn, run_id)
                by_id = retry_bases(conn, run_id)
                states = {row.name: JobState(row.state) for row in rows}
                attempts = {row.name: row.attempts for row in rows}
                bases = {row.name: by_id.get(row.id, 0) for row in rows}
                job_ids = {row.name: row.id for row in rows}
                closed = False
        if closed:
            return RunResult(RunState.CANCELED, "closed as canceled: its engine host died while canceling")
        base_env = clean_env(setup.workspace) if self.job_env is JobEnv.CLEAN else None
        options = run.options
        execution = RunExecution(
            db=self.db,
            run_id=run_id,
            plan=plan,
            job_ids=job_ids,
            states=states,
            attempts=attempts,
            bases=bases,
            workspace=setup.workspace,
            executor=self.executors,
            observer=observer or NullObserver(),
            parallelism=parallelism or options.get("parallelism") or self.slots.size,
            no_cache=bool(options.get("no_cache")) if no_cache is None else no_cache,
            cancel=cancel,
            base_env=base_env,
            grace=self.grace,
            artifacts=setup.artifacts or self.artifacts,
            slots=self.slots,
            secrets=setup.secrets,
        )
        with self._lock:
            self._executions[run_id] = execution
        try:
            return execution.execute()
        finally:
            with self._lock:
                self._executions.pop(run_id, None)

    def _cancel_queued(self, run: RunRow) -> None:
        """A run canceled before it started: queued → canceled, its unfinished jobs canceled."""
        now, reason = time.time(), "canceled before it started"
        check_run_transition(run.id, RunState.QUEUED, RunState.CANCELED)
        with self.db.begin() as conn:
            if not repo.update_run_if(
                conn, run.id, RunState.QUEUED, state=str(RunState.CANCELED), reason=reason, finished_at=now
            ):
                return
            changes = [
                repo.state_change(run.id, None, RunState.QUEUED, RunState.CANCELED, now, reason=reason)
            ]
            for job in repo.list_jobs(conn, run.id):
                current = JobState(job.state)
                if current in TERMINAL_JOB_STATES:
                    continue
                check_job_transition(job.name, current, JobState.CANCELED)
                repo.update_job(conn, job.id, state=str(JobState.CANCELED), reason=reason, finished_at=now)
                changes.append(
                    repo.state_change(
                        run.id, job.id, current, JobState.CANCELED, now, reason=reason, attempt=job.attempts
                    )
                )
            repo.insert_state_changes(conn, changes)
        with self._lock:
            self._results[run.id] = RunResult(RunState.CANCELED, reason)

    def _fail_before_start(self, run: RunRow, reason: str) -> None:
        """The run cannot execute at all (its stored spec no longer compiles, the workspace could not
        be prepared): it starts and fails at once, with ``reason``, its jobs untouched but closed."""
        journal = Journal(self.db, run.id)
        with contextlib.suppress(RunClosedElsewhere):
            if RunState(run.state) is not RunState.RUNNING:
                journal.set_run(RunState.RUNNING, last_started_at=time.time())
            with self.db.begin() as conn:
                now = time.time()
                changes = []
                for job in repo.list_jobs(conn, run.id):
                    current = JobState(job.state)
                    if current in TERMINAL_JOB_STATES:
                        continue
                    new = JobState.INTERRUPTED if current is JobState.RUNNING else JobState.CANCELED
                    check_job_transition(job.name, current, new)
                    repo.update_job(conn, job.id, state=str(new), reason=reason, finished_at=now)
                    changes.append(
                        repo.state_change(
                            run.id, job.id, current, new, now, reason=reason, attempt=job.attempts
                        )
                    )
                repo.insert_state_changes(conn, changes)
            journal.set_run(RunState.FAILED, reason=reason, finished_at=time.time())
        with self._lock:
            self._results[run.id] = RunResult(RunState.FAILED, reason)
