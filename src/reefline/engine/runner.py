"""Drive one run to its end: the only writer of run and job state.

One engine thread owns all state and decides every transition; the :class:`Journal` writes what it
decided in batches, and :class:`StepWorkers` threads run and hash steps and report back through a
queue.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from reefline.artifacts.base import ArtifactStore
from reefline.artifacts.hashing import Hasher
from reefline.engine import cache
from reefline.engine.barriers import StageBarriers
from reefline.engine.decide import Upstream, decide, saw_failure
from reefline.engine.events import JobEvent, RunObserver, StepInfo
from reefline.engine.failures import internal_error, traceback_lines
from reefline.engine.journal import Journal, JournalError, RunClosedElsewhere
from reefline.engine.logcap import LogSeq, full_log_path, logs_root
from reefline.engine.masking import SecretMasker
from reefline.engine.routing import Executors, RunExecutors
from reefline.engine.slots import JobSlots
from reefline.engine.states import TERMINAL_JOB_STATES, JobState, RunState, check_job_transition
from reefline.engine.workers import StepWorkers
from reefline.executors.base import Executor, StepContext, StepResult
from reefline.plan.ir import Plan, Step
from reefline.store.errors import StoreError

CANCEL_POLL_EVERY = 0.5
FLUSH_EVERY = 0.05
"""Seconds between database writes: what happened meanwhile goes in one transaction."""


@dataclass
class _Job:
    step: Step
    job_id: int
    position: int
    state: JobState
    attempt: int = 0
    base_attempt: int = 0  # attempts made before this execution (a retried run): retries count from it
    waiting_on: int = 0
    started_at: float | None = None
    failure_seen: bool = False
    downstream: list[str] = field(default_factory=list)
    prepared: cache.Prepared | None = None
    seq: LogSeq | None = None  # the line numbers of the current attempt


@dataclass(frozen=True)
class RunResult:
    state: RunState
    reason: str | None


class RunExecution:
    """Executes ``plan`` for the run ``run_id`` whose job rows already exist (``job_ids``).

    ``states`` gives the current state of every job (all pending for a new run; a retry passes
    the earlier outcomes; a run taken over from a dead engine may have ``queued`` jobs, which are
    prepared and started again). ``attempts``: the attempts each job made so far; ``bases``: how
    many of those were made before the current retry budget began (default: all of them).
    Setting ``cancel`` (or ``reefline cancel`` from elsewhere) cancels.

    ``slots``: the job-slot pool shared with the other runs of an engine host; an attempt starts
    only with a free slot (and at most ``parallelism`` of this run at once). ``base_env``: the
    environment jobs start from (default: this process's). ``secrets`` are added to every job's
    environment, never to the plan (so never to a cache key), and masked (``****``) in every line
    of the log: stored, in the full log file and shown live.
    """

    def __init__(
        self,
        *,
        db: sa.Engine,
        run_id: int,
        plan: Plan,
        job_ids: Mapping[str, int],
        states: Mapping[str, JobState],
        attempts: Mapping[str, int],
        workspace: Path,
        executor: Executor | Executors,
        observer: RunObserver,
        parallelism: int,
        no_cache: bool = False,
        cancel: threading.Event | None = None,
        base_env: Mapping[str, str] | None = None,
        grace: float = 5.0,
        artifacts: ArtifactStore | None = None,
        slots: JobSlots | None = None,
        secrets: Mapping[str, str] | None = None,
        bases: Mapping[str, int] | None = None,
    ) -> None:
        self.run_id = run_id
        self.plan = plan
        self.workspace = workspace
        executors = executor if isinstance(executor, Executors) else Executors(fixed=executor)
        unfinished = [s for s in plan.steps if states[s.id] not in TERMINAL_JOB_STATES]
        self.executors = RunExecutors(executors, run_id, workspace, unfinished)
        self.observer = observer
        self.parallelism = max(1, parallelism)
        self.no_cache = no_cache
        self.cancel_event = cancel or threading.Event()
        self.cancel_reason = "canceled by the user"  # the reason recorded when cancel_event is set
        self.grace = grace
        self.base_env = dict(os.environ if base_env is None else base_env)
        self.secrets = dict(secrets or {})
        self.masker = SecretMasker(self.secrets.values()) if self.secrets else None
        self.slots = slots or JobSlots(self.parallelism)
        bases = bases or {}
        self.jobs: dict[str, _Job] = {
            s.id: _Job(
                s,
                job_ids[s.id],
                i,
                states[s.id],
                attempts.get(s.id, 0),
                bases.get(s.id, attempts.get(s.id, 0)),
            )
            for i, s in enumerate(plan.steps)
        }
        for job in self.jobs.values():
            for up in job.step.needs:
                self.jobs[up].downstream.append(job.step.id)
        self.stages = StageBarriers(plan, self._upstream_of)
        self._producer_ids = {s.id: job_ids[s.id] for s in plan.steps}  # once, not per recorded job
        self.journal = Journal(db, run_id)
        self._events: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self.step_workers = StepWorkers(
            route=self.executors.for_step,
            hasher=Hasher(workspace),
            db=db,
            report=self._events.put,
            store=artifacts,
            masker=self.masker,
            team_id=_team_of(db, run_id),
        )
        self._ready: list[tuple[float, int, str]] = []  # (not_before, position, step id)
        self._awaiting: set[tuple[str, str, int]] = set()  # (prepare | attempt, step id, attempt)
        self.logs_root = logs_root(workspace)
        self._running = 0
        self._held_slots = 0
        self._preparing = 0
        self._open = 0
        self._canceling: str | None = None
        self._run_state: RunState | None = None  # as this process last wrote it
        self._last_flush = 0.0
        self._last_cancel_poll = 0.0

    # ------------------------------------------------------------------ main loop

    def execute(self) -> RunResult:
        with (
            ThreadPoolExecutor(self.parallelism, thread_name_prefix="reefline-job") as workers,
            ThreadPoolExecutor(min(4, self.parallelism), thread_name_prefix="reefline-hash") as hashers,
        ):
            self._workers, self._hashers = workers, hashers
            try:
                self.executors.setup()
                self._begin()
                self._loop()
            except BaseException as exc:
                self._give_back_slots()
                # A second Ctrl-C or a bug: stop every process now; the run stays open in the
                # store and is closed as interrupted by the next command that opens it.
                try:
                    if not self._canceling:
                        self._cancel("interrupted")
                finally:
                    self.step_workers.abandon()  # kill now; no worker may wait on this thread
                    self._teardown()
                if isinstance(exc, JournalError):
                    self._record_failure(str(exc))
                raise
            self._give_back_slots()
            self._teardown()
            return self._finish()

    def _teardown(self) -> None:
        """Per-run executor state goes (networks, leftovers); a failure is said in the engine's log."""
        for problem in self.executors.teardown():
            _warn(problem)

    def _give_back_slots(self) -> None:
        self.slots.forget(id(self))
        self.slots.release(self._held_slots)
        self._held_slots = 0

    def _wake(self) -> None:
        """A slot was given back (called from another run's thread)."""
        self._events.put(("wake",))

    def _loop(self) -> None:
        while self._open:
            self._poll_cancel()
            self._launch()
            if time.time() - self._last_flush >= FLUSH_EVERY:
                self._last_flush = time.time()
                self.journal.flush()
            if not self._open:
                break
            if not self._blocking():
                raise RuntimeError(f"run {self.run_id}: {self._open} jobs can never start (engine bug)")
            try:
                self._handle(self._events.get(timeout=self._wait_time()))
                # Bounded: under a flood of events the journal is still flushed every FLUSH_EVERY.
                until = time.time() + FLUSH_EVERY
                while time.time() < until:
                    self._handle(self._events.get_nowait())
            except queue.Empty:
                pass

    def _blocking(self) -> bool:
        return bool(self._running or self._preparing or self._ready)

    def _wait_time(self) -> float:
        timeout = CANCEL_POLL_EVERY
        if self.journal.dirty:
            timeout = max(0.0, self._last_flush + FLUSH_EVERY - time.time())
        if self._ready and self._running < self.parallelism and self.slots.used < self.slots.size:
            timeout = min(timeout, max(0.0, self._ready[0][0] - time.time()))
        return timeout

    def _begin(self) -> None:
        now = time.time()
        # A retried run keeps its first start; last_started_at is this execution's.
        first: dict[str, Any] = {} if self.journal.run_started_at() is not None else {"started_at": now}
        self.journal.set_run(
            RunState.RUNNING, **first, last_started_at=now, finished_at=None, reason=None, heartbeat_at=now
        )
        self._run_state = RunState.RUNNING
        self.observer.run_started(
            self.run_id,
            [
                StepInfo(
                    s.id,
                    s.job,
                    s.stage,
                    s.needs_labels(),
                    self.jobs[s.id].state,
                    self.jobs[s.id].base_attempt + s.retry.max + 1,
                )
                for s in self.plan.steps
            ],
        )
        self.stages.begin(lambda sid: self.jobs[sid].state not in TERMINAL_JOB_STATES)
        for job in self.jobs.values():
            if job.state in TERMINAL_JOB_STATES:
                continue
            self._open += 1
            job.waiting_on = sum(1 for up in job.step.needs if self.jobs[up].state not in TERMINAL_JOB_STATES)
            after = job.step.after_stage
            job.waiting_on += 1 if after is not None and not self.stages.closed(after) else 0
        # Queued by an engine that died (the run was taken over): its cache check is redone here.
        # Taken before the others are considered, which may queue their dependents.
        taken_over = [j for j in self.jobs.values() if j.state is JobState.QUEUED and j.waiting_on == 0]
        for job in list(self.jobs.values()):
            if job.state is JobState.PENDING and job.waiting_on == 0:
                self._consider(job)
        for job in taken_over:
            upstream = {up: self._upstream_of(up) for up in job.step.needs}
            after = job.step.after_stage
            stage = self.stages.outcome(after) if after is not None else None
            job.failure_seen = saw_failure(upstream, stage)
            self._queue(job)

    def _handle(self, event: tuple[Any, ...]) -> None:
        kind = event[0]
        if kind == "logs":  # a batch of a job's own output
            self.step_workers.pressure.release()
            _, sid, attempt, lines = event
            job_id = self.jobs[sid].job_id
            for stream, ts, text, seq in lines:
                self.journal.log(job_id, attempt, stream, ts, text, seq=seq)
                self.observer.log_line(self.run_id, sid, stream, ts, text)
        elif kind == "log":
            _, sid, attempt, stream, ts, text, seq = event
            self.journal.log(self.jobs[sid].job_id, attempt, stream, ts, text, seq=seq)
            self.observer.log_line(self.run_id, sid, stream, ts, text)
        elif kind == "prepared":
            self._awaiting.discard(("prepare", event[1], 0))
            self._preparing -= 1
            self._on_prepared(self.jobs[event[1]], event[2])
        elif kind == "done":
            self._awaiting.discard(("attempt", event[1], self.jobs[event[1]].attempt))
            self._running -= 1
            self._held_slots -= 1
            self.slots.release()
            _, sid, result, outputs, metrics, error, code = event
            self._on_done(self.jobs[sid], result, outputs, metrics, error, code=code)
        elif kind == "crashed":
            self._on_crashed(*event[1:])

    def _submit(
        self, pool: ThreadPoolExecutor, what: str, job: _Job, fn: Callable[..., None], *args: Any
    ) -> None:
        """Run ``fn`` in ``pool``; if it raises without reporting, the job fails (never a hang)."""
        key = (what, job.step.id, job.attempt if what == "attempt" else 0)
        self._awaiting.add(key)
        future = pool.submit(fn, *args)

        def done(f: Future[None]) -> None:
            exc = f.exception() if not f.cancelled() else CancelledError("the worker was cancelled")
            if exc is not None:
                self._events.put(("crashed", *key, exc))

        future.add_done_callback(done)

    def _full_log(self, job: _Job) -> Path:
        return full_log_path(self.logs_root, self.run_id, job.job_id, job.attempt)

    def _on_crashed(self, what: str, sid: str, attempt: int, exc: BaseException) -> None:
        if (what, sid, attempt) not in self._awaiting:
            return  # it reported before it raised
        job = self.jobs[sid]
        for line in traceback_lines(exc):
            self._log_system(job, line)
        if what == "prepare":
            self._handle(("prepared", sid, cache.Prepared("", [], error=internal_error(exc))))
        else:
            now = time.time()
            result = StepResult(None, job.started_at or now, now, error=internal_error(exc))
            self._handle(("done", sid, result, [], {}, None, None))

    # ------------------------------------------------------------------ decisions

    def _consider(self, job: _Job) -> None:
        """All upstream steps are finished: skip, cancel, or queue the step."""
        if self._canceling:
            self._transition(job, JobState.CANCELED, reason=self._canceling)
            return
        upstream = {up: self._upstream_of(up) for up in job.step.needs}
        after = job.step.after_stage
        stage = self.stages.outcome(after) if after is not None else None
        job.failure_seen = saw_failure(upstream, stage)
        decision = decide(job.step, upstream, stage)
        if not decision.run:
            self._transition(job, JobState.SKIPPED, reason=decision.reason)
            return
        self._transition(job, JobState.QUEUED)
        self._queue(job)

    def _queue(self, job: _Job) -> None:
        """A queued step: hash its inputs and look it up in the cache if it needs it, else wait for a slot."""
        after = job.step.after_stage
        # Only a step that reads files or may be cached needs hashing before it runs.
        if job.step.inputs or job.step.cacheable:
            self._preparing += 1
            upstream_outputs = {up: self.jobs[up].step.outputs for up in job.step.needs}
            if after is not None:  # the earlier stages' outputs, hashed once per barrier
                stage_outputs = self.stages.outputs(after)
                upstream_outputs[stage_outputs.key] = stage_outputs
            prepare, use_cache = self.step_workers.prepare, not self.no_cache
            self._submit(self._hashers, "prepare", job, prepare, job.step, upstream_outputs, use_cache)
        else:
            self._enqueue(job, 0.0)

    def _on_prepared(self, job: _Job, prepared: cache.Prepared) -> None:
        job.prepared = prepared
        if self._canceling:
            self._transition(job, JobState.CANCELED, reason=self._canceling)
        elif prepared.error:
            for line in prepared.details:
                self._log_system(job, line)
            self._transition(job, JobState.FAILED, reason=prepared.error, cache_key=prepared.key or None)
        elif prepared.hit is not None:
            self._record_inputs(job, prepared)
            # the rows name the attempt that made the bytes (cached_from_job_id's)
            self.journal.outputs(job.job_id, prepared.hit.outputs, attempt=prepared.hit.attempt)
            self._transition(
                job,
                JobState.CACHED,
                reason="declared inputs, env and code unchanged; outputs "
                + ("restored from the artifact store" if prepared.restored else "reused"),
                cache_key=prepared.key,
                cached_from_job_id=prepared.hit.job_id,
            )
        else:
            self._enqueue(job, 0.0)

    def _enqueue(self, job: _Job, not_before: float) -> None:
        heapq.heappush(self._ready, (not_before, job.position, job.step.id))

    def _launch(self) -> None:
        now = time.time()
        while self._ready and self._running < self.parallelism and not self._canceling:
            if self._ready[0][0] > now or not self.slots.try_acquire(id(self), self._wake):
                return
            self._held_slots += 1
            _, _, sid = heapq.heappop(self._ready)
            job = self.jobs[sid]
            job.attempt += 1
            job.started_at = now
            self._running += 1
            self.journal.attempt_started(job.job_id, job.attempt, now)
            self._transition(job, JobState.RUNNING, started_at=now, attempts=job.attempt, exit_code=None)
            env, job_env = self._env(job)
            image_id = job.prepared.image_id if job.prepared is not None else None
            ctx = StepContext(self.run_id, job.attempt, self.workspace, env, job_env, image_id)
            attempt, log_file = self.step_workers.attempt, self._full_log(job)
            job.seq = LogSeq(job.attempt)
            self._submit(self._workers, "attempt", job, attempt, job.step, ctx, log_file, job.seq)

    def _on_done(
        self,
        job: _Job,
        result: StepResult,
        outputs: list[cache.ArtifactRecord],
        metrics: dict[str, float],
        error: str | None,
        *,
        code: dict[str, Any] | None = None,
    ) -> None:
        ok = result.ok and error is None
        reason = error or result.error or (None if ok else f"exit code {result.exit_code}")
        self.journal.attempt_ended(job.job_id, job.attempt, result, None if ok else reason, code=code)
        if ok:
            if job.prepared is not None:
                self._record_inputs(job, job.prepared)
            self.journal.outputs(job.job_id, outputs, attempt=job.attempt)
            if metrics:
                self.journal.metrics(job.job_id, metrics)
            key = job.prepared.key if job.prepared else None
            self._transition(
                job,
                JobState.SUCCESS,
                exit_code=result.exit_code,
                finished_at=result.finished_at,
                cache_key=key if job.step.cacheable else None,
            )
            return
        if result.canceled or self._canceling:
            self._transition(
                job,
                JobState.CANCELED,
                reason=self._canceling or reason,
                exit_code=result.exit_code,
                finished_at=result.finished_at,
            )
            return
        if job.attempt - job.base_attempt <= job.step.retry.max:
            delay = job.step.retry.delay_before(job.attempt + 1)
            self._log_system(job, f"attempt {job.attempt} failed ({reason}); retrying in {delay:g}s")
            self._transition(job, JobState.QUEUED, reason=reason, exit_code=result.exit_code)
            self._enqueue(job, time.time() + delay)
            return
        self._transition(
            job, JobState.FAILED, reason=reason, exit_code=result.exit_code, finished_at=result.finished_at
        )

    def _transition(self, job: _Job, state: JobState, **values: Any) -> None:
        check_job_transition(job.step.id, job.state, state)
        previous, job.state = job.state, state
        values["state"] = str(state)
        if state in TERMINAL_JOB_STATES:
            values.setdefault("finished_at", time.time())
        self.journal.job_state(job.job_id, previous, state, attempt=job.attempt, values=values)
        self.observer.job_changed(
            JobEvent(
                self.run_id,
                job.step.id,
                state,
                job.attempt,
                values.get("reason"),
                values.get("exit_code"),
                job.started_at,
                values.get("finished_at"),
            )
        )
        if state in TERMINAL_JOB_STATES:
            self._open -= 1
            if state is JobState.FAILED and not job.step.allow_failure:
                job.failure_seen = True
            for down_id in [*job.downstream, *self.stages.finished(job.step.id)]:
                down = self.jobs[down_id]
                down.waiting_on -= 1
                if down.waiting_on == 0 and down.state is JobState.PENDING:
                    self._consider(down)

    def _upstream_of(self, step_id: str) -> Upstream:
        """A finished step's outcome, as its dependents (and stage barriers) see it."""
        up = self.jobs[step_id]
        return Upstream(up.state, up.step.allow_failure, up.failure_seen, up.step.when)

    # ------------------------------------------------------------------ cancel

    def _poll_cancel(self) -> None:
        if self._canceling:
            return
        now = time.time()
        reason = None
        if self.cancel_event.is_set():
            reason = self.cancel_reason
        elif now - self._last_cancel_poll >= CANCEL_POLL_EVERY:
            self._last_cancel_poll = now
            if self.journal.cancel_requested():
                closed = self.journal.closed_elsewhere
                reason = str(closed) if closed else "canceled with `reefline cancel`"
        if reason:
            self._cancel(reason)

    def _cancel(self, reason: str) -> None:
        self._canceling = reason
        if self._run_state is RunState.RUNNING and self.journal.closed_elsewhere is None:
            try:
                self.journal.set_run(RunState.CANCELING, expected=RunState.RUNNING)
                self._run_state = RunState.CANCELING
            except RunClosedElsewhere as exc:
                self.journal.closed_elsewhere = exc
            except (StoreError, sa.exc.SQLAlchemyError):
                pass  # the database is failing: the run ends (or dies) without this step
        for _, _, sid in self._ready:
            self._transition(self.jobs[sid], JobState.CANCELED, reason=reason)
        self._ready.clear()
        for job in self.jobs.values():
            if job.state is JobState.PENDING:
                self._transition(job, JobState.CANCELED, reason=reason)
        self.step_workers.cancel_all(self.grace)

    # ------------------------------------------------------------------ helpers

    def _env(self, job: _Job) -> tuple[dict[str, str], dict[str, str]]:
        """The attempt's whole environment, and the job's own part of it (what a container gets)."""
        own = dict(job.step.env)
        own.update(self.secrets)
        own["REEFLINE_RUN_ID"] = str(self.run_id)
        own["REEFLINE_ATTEMPT"] = str(job.attempt)
        own["REEFLINE_JOB_ID"] = str(job.job_id)  # the SDK links component runs to this attempt
        own["REEFLINE_WORKSPACE"] = str(self.workspace)
        return {**self.base_env, **own}, own

    def _log_system(self, job: _Job, text: str) -> None:
        now = time.time()
        if self.masker is not None:
            text = self.masker.mask_line(text)
        if job.seq is None or job.seq.attempt != job.attempt:  # an attempt begun before this execution
            job.seq = LogSeq(job.attempt, self.journal.next_seq(job.job_id, job.attempt))
        self.journal.log(job.job_id, job.attempt, "system", now, text, seq=job.seq.next())
        self.observer.log_line(self.run_id, job.step.id, "system", now, text)

    def _record_inputs(self, job: _Job, prepared: cache.Prepared) -> None:
        self.journal.inputs(job.job_id, prepared.inputs, self._producer_ids)

    def _finish(self) -> RunResult:
        self.journal.flush()
        failed = [
            j.step.id
            for j in self.jobs.values()
            if j.state in (JobState.FAILED, JobState.INTERRUPTED) and not j.step.allow_failure
        ]
        if self._canceling:
            state, reason = RunState.CANCELED, self._canceling
        elif failed:
            shown = ", ".join(failed[:5]) + (f" and {len(failed) - 5} more" if len(failed) > 5 else "")
            state, reason = RunState.FAILED, f"failed: {shown}"
        else:
            state, reason = RunState.SUCCESS, None
        try:
            if self.journal.closed_elsewhere is not None:
                raise self.journal.closed_elsewhere
            self.journal.set_run(state, expected=self._run_state, reason=reason, finished_at=time.time())
        except RunClosedElsewhere as exc:
            # Never an InvalidTransition: say who closed the run, and keep what it says.
            state, reason = exc.state, str(exc)
        self.observer.run_finished(self.run_id, state, reason)
        return RunResult(state, reason)

    def _record_failure(self, reason: str) -> None:
        """Best effort, the database is failing: close the run as failed with the journal's error."""
        if self._run_state is None:
            return
        with contextlib.suppress(StoreError, sa.exc.SQLAlchemyError):
            self.journal.set_run(
                RunState.FAILED, expected=self._run_state, reason=reason, finished_at=time.time()
            )


def _team_of(db: sa.Engine, run_id: int) -> int | None:
    """The team whose cache the run may use (None: a laptop run)."""
    from reefline.store.repo_scope import team_of_run

    with db.connect() as conn:
        return team_of_run(conn, run_id)


def _warn(problem: str) -> None:
    import logging

    logging.getLogger("reefline.engine").warning("%s", problem)
