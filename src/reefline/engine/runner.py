"""Drive one run to its end: the only writer of run and job state.

One engine thread owns all state and all database writes; it batches whatever happened since the
last loop turn into one transaction. Worker threads only talk to the executor and the file system
(hashing) and report back through a queue, so a 1000-job run costs a few hundred transactions,
not thousands.
"""

from __future__ import annotations

import heapq
import os
import queue
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from reefline.artifacts.hashing import Hasher
from reefline.engine import cache
from reefline.engine.decide import Upstream, decide
from reefline.engine.events import JobEvent, RunObserver, StepInfo
from reefline.engine.states import (
    TERMINAL_JOB_STATES,
    JobState,
    RunState,
    check_job_transition,
    check_run_transition,
)
from reefline.executors.base import Executor, StartError, StepContext, StepHandle, StepResult, Stream
from reefline.plan.ir import Plan, Step
from reefline.store import repo

HEARTBEAT_EVERY = 2.0
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
    waiting_on: int = 0
    started_at: float | None = None
    failure_seen: bool = False
    downstream: list[str] = field(default_factory=list)
    prepared: cache.Prepared | None = None


@dataclass(frozen=True)
class RunResult:
    state: RunState
    reason: str | None


class RunExecution:
    """Executes ``plan`` for the run ``run_id`` whose job rows already exist (``job_ids``).

    ``states`` gives the current state of every job (all pending for a new run; a retry passes
    the earlier outcomes). Setting ``cancel`` (or ``reefline cancel`` from elsewhere) cancels.
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
        executor: Executor,
        observer: RunObserver,
        parallelism: int,
        no_cache: bool = False,
        cancel: threading.Event | None = None,
        base_env: Mapping[str, str] | None = None,
        grace: float = 5.0,
    ) -> None:
        self.db = db
        self.run_id = run_id
        self.plan = plan
        self.workspace = workspace
        self.executor = executor
        self.observer = observer
        self.parallelism = max(1, parallelism)
        self.no_cache = no_cache
        self.cancel_event = cancel or threading.Event()
        self.grace = grace
        self.base_env = dict(os.environ if base_env is None else base_env)
        self.hasher = Hasher(workspace)
        self.jobs: dict[str, _Job] = {
            s.id: _Job(s, job_ids[s.id], i, states[s.id], attempts.get(s.id, 0))
            for i, s in enumerate(plan.steps)
        }
        for job in self.jobs.values():
            for up in job.step.needs:
                self.jobs[up].downstream.append(job.step.id)
        self._events: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._ready: list[tuple[float, int, str]] = []  # (not_before, position, step id)
        self._handles: dict[str, StepHandle] = {}
        self._handles_lock = threading.Lock()
        self._running = 0
        self._preparing = 0
        self._open = 0
        self._canceling: str | None = None
        self._ops: list[tuple[str, Any]] = []
        self._job_updates: dict[int, dict[str, Any]] = {}
        self._last_flush = 0.0
        self._logs: list[dict[str, Any]] = []
        self._last_heartbeat = 0.0
        self._last_cancel_poll = 0.0
        self._new_attempts: list[dict[str, Any]] = []
        self._ended_attempts: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ main loop

    def execute(self) -> RunResult:
        with (
            ThreadPoolExecutor(self.parallelism, thread_name_prefix="reefline-job") as workers,
            ThreadPoolExecutor(min(4, self.parallelism), thread_name_prefix="reefline-hash") as hashers,
        ):
            self._workers, self._hashers = workers, hashers
            try:
                self._begin()
                self._loop()
            except BaseException:
                # A second Ctrl-C or a bug: stop every process now; the run stays open in the
                # store and is closed as interrupted by the next command that opens it.
                self.grace = 0.0
                if not self._canceling:
                    self._cancel("interrupted")
                with self._handles_lock:
                    handles = list(self._handles.values())
                for handle in handles:
                    self.executor.cancel(handle, 0.0)
                raise
            return self._finish()

    def _loop(self) -> None:
        while self._open:
            self._poll_cancel()
            self._launch()
            if time.time() - self._last_flush >= FLUSH_EVERY:
                self._flush()
            if not self._open:
                break
            if not self._blocking():
                raise RuntimeError(f"run {self.run_id}: {self._open} jobs can never start (engine bug)")
            try:
                self._handle(self._events.get(timeout=self._wait_time()))
                while True:
                    self._handle(self._events.get_nowait())
            except queue.Empty:
                pass

    def _blocking(self) -> bool:
        return bool(self._running or self._preparing or self._ready)

    def _wait_time(self) -> float:
        timeout = CANCEL_POLL_EVERY
        if self._dirty():
            timeout = max(0.0, self._last_flush + FLUSH_EVERY - time.time())
        if self._ready and self._running < self.parallelism:
            timeout = min(timeout, max(0.0, self._ready[0][0] - time.time()))
        return timeout

    def _begin(self) -> None:
        now = time.time()
        self._set_run(RunState.RUNNING, started_at=now, finished_at=None, reason=None, heartbeat_at=now)
        self.observer.run_started(
            self.run_id,
            [
                StepInfo(s.id, s.job, s.stage, s.needs, self.jobs[s.id].state, s.retry.max + 1)
                for s in self.plan.steps
            ],
        )
        for job in self.jobs.values():
            if job.state in TERMINAL_JOB_STATES:
                continue
            self._open += 1
            job.waiting_on = sum(1 for up in job.step.needs if self.jobs[up].state not in TERMINAL_JOB_STATES)
        for job in list(self.jobs.values()):
            if job.state is JobState.PENDING and job.waiting_on == 0:
                self._consider(job)

    def _handle(self, event: tuple[Any, ...] | None) -> None:
        if event is None:
            return
        kind = event[0]
        if kind == "log":
            _, sid, attempt, stream, ts, text = event
            job = self.jobs[sid]
            self._logs.append(
                {
                    "run_id": self.run_id,
                    "job_id": job.job_id,
                    "attempt": attempt,
                    "ts": ts,
                    "stream": stream,
                    "text": text,
                }
            )
            self.observer.log_line(self.run_id, sid, stream, ts, text)
        elif kind == "prepared":
            self._preparing -= 1
            self._on_prepared(self.jobs[event[1]], event[2])
        elif kind == "done":
            self._running -= 1
            _, sid, result, outputs, metrics, error = event
            self._on_done(self.jobs[sid], result, outputs, metrics, error)

    # ------------------------------------------------------------------ decisions

    def _consider(self, job: _Job) -> None:
        """All upstream steps are finished: skip, cancel, or queue the step."""
        if self._canceling:
            self._transition(job, JobState.CANCELED, reason=self._canceling)
            return
        upstream = {
            up: Upstream(
                self.jobs[up].state,
                self.jobs[up].step.allow_failure,
                self.jobs[up].failure_seen,
                self.jobs[up].step.when,
            )
            for up in job.step.needs
        }
        job.failure_seen = any(u.failed or u.failure_seen for u in upstream.values())
        decision = decide(job.step, upstream)
        if not decision.run:
            self._transition(job, JobState.SKIPPED, reason=decision.reason)
            return
        self._transition(job, JobState.QUEUED)
        # Only a step that reads files or may be cached needs hashing before it runs.
        if job.step.inputs or job.step.cacheable:
            self._preparing += 1
            lookup = None if self.no_cache else self._lookup
            upstream_outputs = {up: self.jobs[up].step.outputs for up in job.step.needs}
            self._hashers.submit(self._prepare_worker, job.step, upstream_outputs, lookup)
        else:
            self._enqueue(job, 0.0)

    def _on_prepared(self, job: _Job, prepared: cache.Prepared) -> None:
        job.prepared = prepared
        if self._canceling:
            self._transition(job, JobState.CANCELED, reason=self._canceling)
        elif prepared.error:
            self._transition(job, JobState.FAILED, reason=prepared.error, cache_key=prepared.key or None)
        elif prepared.hit is not None:
            self._record_inputs(job, prepared)
            self._ops.append(("outputs", (job.job_id, prepared.hit.outputs)))
            self._transition(
                job,
                JobState.CACHED,
                reason="inputs and code unchanged; outputs reused",
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
            if self._ready[0][0] > now:
                return
            _, _, sid = heapq.heappop(self._ready)
            job = self.jobs[sid]
            job.attempt += 1
            job.started_at = now
            self._running += 1
            self._new_attempts.append(
                {
                    "job_id": job.job_id,
                    "number": job.attempt,
                    "state": str(JobState.RUNNING),
                    "started_at": now,
                }
            )
            self._transition(job, JobState.RUNNING, started_at=now, attempts=job.attempt, exit_code=None)
            self._workers.submit(self._attempt_worker, job.step, job.attempt, self._env(job))

    def _on_done(
        self,
        job: _Job,
        result: StepResult,
        outputs: list[cache.ArtifactRecord],
        metrics: dict[str, float],
        error: str | None,
    ) -> None:
        ok = result.ok and error is None
        reason = error or result.error or (None if ok else f"exit code {result.exit_code}")
        attempt_state = JobState.SUCCESS if ok else JobState.CANCELED if result.canceled else JobState.FAILED
        self._ended_attempts.append(
            {
                "job_id": job.job_id,
                "number": job.attempt,
                "state": str(attempt_state),
                "exit_code": result.exit_code,
                "error": None if ok else reason,
                "finished_at": result.finished_at,
                "cpu_seconds": result.cpu_seconds,
                "peak_rss_bytes": result.peak_rss_bytes,
            }
        )
        if ok:
            if job.prepared is not None:
                self._record_inputs(job, job.prepared)
            self._ops.append(("outputs", (job.job_id, outputs)))
            if metrics:
                self._ops.append(("metrics", (job.job_id, metrics)))
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
        if job.attempt <= job.step.retry.max:
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
        job.state = state
        values["state"] = str(state)
        if state in TERMINAL_JOB_STATES:
            values.setdefault("finished_at", time.time())
        self._job_updates.setdefault(job.job_id, {}).update(values)
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
            for down_id in job.downstream:
                down = self.jobs[down_id]
                down.waiting_on -= 1
                if down.waiting_on == 0 and down.state is JobState.PENDING:
                    self._consider(down)

    # ------------------------------------------------------------------ cancel

    def _poll_cancel(self) -> None:
        if self._canceling:
            return
        now = time.time()
        reason = None
        if self.cancel_event.is_set():
            reason = "canceled by the user"
        elif now - self._last_cancel_poll >= CANCEL_POLL_EVERY:
            self._last_cancel_poll = now
            with self.db.connect() as conn:
                if repo.is_cancel_requested(conn, self.run_id):
                    reason = "canceled with `reefline cancel`"
        if reason:
            self._cancel(reason)

    def _cancel(self, reason: str) -> None:
        self._canceling = reason
        for _, _, sid in self._ready:
            self._transition(self.jobs[sid], JobState.CANCELED, reason=reason)
        self._ready.clear()
        for job in self.jobs.values():
            if job.state is JobState.PENDING:
                self._transition(job, JobState.CANCELED, reason=reason)
        with self._handles_lock:
            handles = list(self._handles.values())
        for handle in handles:
            self.executor.cancel(handle, self.grace)

    # ------------------------------------------------------------------ worker threads

    def _lookup(self, key: str) -> cache.CacheHit | None:
        with self.db.connect() as conn:
            found = repo.find_cache_hit(conn, key)
        if found is None:
            return None
        job_id, rows = found
        return cache.CacheHit(
            job_id, [cache.ArtifactRecord(r.name, r.path, r.type, r.sha256, r.size) for r in rows]
        )

    def _prepare_worker(
        self, step: Step, upstream_outputs: Mapping[str, Any], lookup: cache.CacheLookup | None
    ) -> None:
        try:
            prepared = cache.prepare(step, self.hasher, upstream_outputs, lookup)
        except Exception as exc:  # a bug must fail the job, never hang the run
            prepared = cache.Prepared("", [], error=f"internal error while hashing inputs: {exc!r}")
        self._events.put(("prepared", step.id, prepared))

    def _attempt_worker(self, step: Step, attempt: int, env: dict[str, str]) -> None:
        started = time.time()
        sid = step.id
        put = self._events.put

        def log(stream: Stream, ts: float, text: str) -> None:
            put(("log", sid, attempt, stream, ts, text))

        ctx = StepContext(self.run_id, attempt, self.workspace, env)
        try:
            handle = self.executor.start(step, ctx, log)
        except StartError as exc:
            put(("done", sid, StepResult(None, started, time.time(), error=str(exc)), [], {}, None))
            return
        except Exception as exc:
            reason = f"executor failed to start the job: {exc!r}"
            put(("done", sid, StepResult(None, started, time.time(), error=reason), [], {}, None))
            return
        with self._handles_lock:
            self._handles[sid] = handle
        if self._canceling:
            self.executor.cancel(handle, self.grace)
        try:
            result = self.executor.wait(handle)
        except Exception as exc:
            result = StepResult(None, started, time.time(), error=f"executor error: {exc!r}")
        finally:
            with self._handles_lock:
                self._handles.pop(sid, None)
            self.executor.destroy(handle)
        outputs: list[cache.ArtifactRecord] = []
        metrics: dict[str, float] = {}
        error: str | None = None
        if result.ok:
            outputs, metrics, error = cache.collect_outputs(step, self.hasher)
        put(("done", sid, result, outputs, metrics, error))

    def _env(self, job: _Job) -> dict[str, str]:
        env = dict(self.base_env)
        env.update(job.step.env)
        env["REEFLINE_RUN_ID"] = str(self.run_id)
        env["REEFLINE_ATTEMPT"] = str(job.attempt)
        env["REEFLINE_WORKSPACE"] = str(self.workspace)
        return env

    # ------------------------------------------------------------------ persistence

    def _log_system(self, job: _Job, text: str) -> None:
        now = time.time()
        self._logs.append(
            {
                "run_id": self.run_id,
                "job_id": job.job_id,
                "attempt": job.attempt,
                "ts": now,
                "stream": "system",
                "text": text,
            }
        )
        self.observer.log_line(self.run_id, job.step.id, "system", now, text)

    def _record_inputs(self, job: _Job, prepared: cache.Prepared) -> None:
        self._ops.append(("inputs", (job.job_id, prepared.inputs)))

    def _set_run(self, state: RunState, **values: Any) -> None:
        with self.db.begin() as conn:
            current = RunState(repo.get_run(conn, self.run_id).state)
            if current is not state:
                check_run_transition(self.run_id, current, state)
            repo.update_run(conn, self.run_id, state=str(state), **values)

    def _dirty(self) -> bool:
        return bool(
            self._ops or self._logs or self._job_updates or self._new_attempts or self._ended_attempts
        )

    def _flush(self) -> None:
        now = time.time()
        self._last_flush = now
        beat = now - self._last_heartbeat >= HEARTBEAT_EVERY
        if not beat and not self._dirty():
            return
        ops, self._ops = self._ops, []
        new_attempts, self._new_attempts = self._new_attempts, []
        ended_attempts, self._ended_attempts = self._ended_attempts, []
        logs, self._logs = self._logs, []
        updates, self._job_updates = self._job_updates, {}
        with self.db.begin() as conn:
            if logs:
                repo.insert_log_lines(conn, logs)
            repo.create_attempts(conn, new_attempts)
            repo.update_attempts(conn, ended_attempts)
            for kind, payload in ops:
                self._apply(conn, kind, payload)
            by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for job_id, values in updates.items():
                by_columns.setdefault(tuple(sorted(values)), []).append({"id": job_id, **values})
            for rows in by_columns.values():
                repo.update_jobs(conn, rows)
            if beat:
                repo.heartbeat(conn, self.run_id, now)
                self._last_heartbeat = now

    def _finish(self) -> RunResult:
        self._flush()
        failed = [
            j.step.id for j in self.jobs.values() if j.state is JobState.FAILED and not j.step.allow_failure
        ]
        if self._canceling:
            state, reason = RunState.CANCELED, self._canceling
        elif failed:
            shown = ", ".join(failed[:5]) + (f" and {len(failed) - 5} more" if len(failed) > 5 else "")
            state, reason = RunState.FAILED, f"failed: {shown}"
        else:
            state, reason = RunState.SUCCESS, None
        self._set_run(state, reason=reason, finished_at=time.time())
        self.observer.run_finished(self.run_id, state, reason)
        return RunResult(state, reason)

    def _apply(self, conn: sa.Connection, kind: str, payload: Any) -> None:
        if kind == "outputs":
            job_id, records = payload
            repo.insert_outputs(conn, job_id, [_artifact_row(r) for r in records])
        elif kind == "inputs":
            job_id, records = payload
            rows = []
            for record in records:
                row = _artifact_row(record)
                row["producer_job_id"] = (
                    self.jobs[record.producer].job_id if record.producer in self.jobs else None
                )
                rows.append(row)
            repo.insert_inputs(conn, job_id, rows)
        elif kind == "metrics":
            job_id, values = payload
            repo.insert_metrics(conn, self.run_id, job_id, values)


def _artifact_row(record: cache.ArtifactRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "path": record.path,
        "type": record.type,
        "sha256": record.sha256,
        "size": record.size,
    }
