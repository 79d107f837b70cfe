"""What the engine thread decided, buffered and written in one transaction per flush.

Updates of one job are merged, attempts and log lines are written with one ``executemany`` each,
so a 1000-job run costs tens of transactions instead of thousands.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from reefline.engine.cache import ArtifactRecord
from reefline.engine.foreground import FOREGROUND
from reefline.engine.states import TERMINAL_RUN_STATES, JobState, RunState, check_run_transition
from reefline.executors.base import StepResult
from reefline.store import repo, repo_logs
from reefline.store.errors import StoreError

HEARTBEAT_EVERY = 2.0
FLUSH_ATTEMPTS = 3
"""Consecutive failed flushes (the database is locked or gone) before the journal gives up."""
LOG_WRITE_STEPS_ASIDE_FOR = 0.01
"""At most this long a flush with log lines waits for the API's requests in flight (see
:mod:`reefline.engine.foreground`)."""


class JournalError(StoreError):
    """The run's progress could not be written to the database; the message says why."""


class RunClosedElsewhere(StoreError):
    """Another process closed this run (e.g. recovered it as interrupted) while this one ran it."""

    def __init__(self, run_id: int, state: RunState, reason: str | None) -> None:
        self.state = state
        self.reason = reason
        super().__init__(
            f"run {run_id} was closed as {state} by another reefline process while this one was "
            f"still running it ({reason or 'no reason given'}); its results here are not recorded"
        )


class _ClosedMeanwhile(Exception):
    """Rolls back a flush that found the run closed by another process."""


def _db_error(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return " ".join(str(orig if orig is not None else exc).split()) or type(exc).__name__


class Journal:
    def __init__(self, db: sa.Engine, run_id: int) -> None:
        self.db = db
        self.run_id = run_id
        self._jobs: dict[int, dict[str, Any]] = {}
        self._new_attempts: list[dict[str, Any]] = []
        self._ended_attempts: list[dict[str, Any]] = []
        self._logs: list[dict[str, Any]] = []
        self._outputs: list[tuple[int, list[dict[str, Any]]]] = []
        self._inputs: list[tuple[int, list[dict[str, Any]]]] = []
        self._metrics: list[tuple[int, dict[str, float]]] = []
        self._changes: list[dict[str, Any]] = []
        self._last_heartbeat = 0.0
        self._failures = 0
        self.closed_elsewhere: RunClosedElsewhere | None = None

    # ------------------------------------------------------------------ buffering

    def job(self, job_id: int, values: Mapping[str, Any]) -> None:
        self._jobs.setdefault(job_id, {}).update(values)

    def job_state(
        self,
        job_id: int,
        current: JobState,
        new: JobState,
        *,
        attempt: int,
        values: Mapping[str, Any],
        at: float | None = None,
    ) -> None:
        """A checked change of a job's state (with ``values``), recorded in the state history."""
        self.job(job_id, {**values, "state": str(new)})
        reason = values.get("reason")
        at = time.time() if at is None else at
        self._changes.append(
            repo.state_change(self.run_id, job_id, current, new, at, reason=reason, attempt=attempt)
        )

    def attempt_started(self, job_id: int, number: int, started_at: float) -> None:
        self._new_attempts.append(
            {"job_id": job_id, "number": number, "state": str(JobState.RUNNING), "started_at": started_at}
        )

    def attempt_ended(
        self,
        job_id: int,
        number: int,
        result: StepResult,
        error: str | None,
        *,
        code: Mapping[str, Any] | None = None,
    ) -> None:
        """The end of an attempt; ``code``: its code fingerprint (engine/fingerprint.py)."""
        ok = error is None
        state = JobState.SUCCESS if ok else JobState.CANCELED if result.canceled else JobState.FAILED
        self._ended_attempts.append(
            {
                "job_id": job_id,
                "number": number,
                "state": str(state),
                "exit_code": result.exit_code,
                "error": error,
                "finished_at": result.finished_at,
                "cpu_seconds": result.cpu_seconds,
                "peak_rss_bytes": result.peak_rss_bytes,
                "code": None if code is None else dict(code),
            }
        )

    def log(self, job_id: int, attempt: int, stream: str, ts: float, text: str, *, seq: int) -> None:
        """Buffer a line numbered ``seq`` within its attempt (see :class:`reefline.engine.logcap.LogSeq`).

        Written ignoring a line already stored with the same number: a flush retried after its
        commit was lost writes no line twice.
        """
        self._logs.append(
            {
                "run_id": self.run_id,
                "job_id": job_id,
                "attempt": attempt,
                "seq": seq,
                "ts": ts,
                "stream": stream,
                "text": text,
            }
        )

    def next_seq(self, job_id: int, attempt: int) -> int:
        """The first free line number of an attempt begun before this process (0 for a new one)."""
        try:
            with self.db.connect() as conn:
                high = repo_logs.max_log_seq(conn, job_id, attempt)
        except (SQLAlchemyError, StoreError):
            return 0  # the database is failing: the next flush says so
        buffered = [r["seq"] for r in self._logs if r["job_id"] == job_id and r["attempt"] == attempt]
        return int(max([-1 if high is None else high, *buffered])) + 1

    def outputs(
        self, job_id: int, records: list[ArtifactRecord], *, attempt: int, at: float | None = None
    ) -> None:
        """A job's outputs made by its ``attempt`` (a cached job: the attempt of the job it reused),
        each with its artifact URI, recorded ``at`` (default now)."""
        at = time.time() if at is None else at
        self._outputs.append(
            (
                job_id,
                [{**_artifact_row(r), "attempt": attempt, "uri": r.uri, "recorded_at": at} for r in records],
            )
        )

    def inputs(self, job_id: int, records: list[ArtifactRecord], producer_ids: Mapping[str, int]) -> None:
        rows = [
            {**_artifact_row(r), "producer_job_id": producer_ids.get(r.producer) if r.producer else None}
            for r in records
        ]
        self._inputs.append((job_id, rows))

    def metrics(self, job_id: int, values: dict[str, float]) -> None:
        self._metrics.append((job_id, values))

    @property
    def dirty(self) -> bool:
        return bool(
            self._jobs
            or self._new_attempts
            or self._ended_attempts
            or self._logs
            or self._outputs
            or self._inputs
            or self._metrics
            or self._changes
        )

    # ------------------------------------------------------------------ writing

    def flush(self) -> None:
        """Write everything buffered (and a heartbeat when one is due) in one transaction.

        A failed write keeps the buffer for the next flush; after :data:`FLUSH_ATTEMPTS` failures
        in a row it raises :class:`JournalError` naming the database's complaint.
        """
        now = time.time()
        beat = now - self._last_heartbeat >= HEARTBEAT_EVERY
        if not beat and not self.dirty:
            return
        try:
            try:
                self._write(now, beat)
            except _ClosedMeanwhile:
                self._write(now, beat)  # without the job states, which are the closer's now
        except (SQLAlchemyError, StoreError) as exc:
            self._failures += 1
            if self._failures >= FLUSH_ATTEMPTS:
                # Given up: what could not be written is dropped, so the run can still be closed
                # with this error as its reason.
                self._clear()
                self._failures = 0
                raise JournalError(
                    f"could not record run {self.run_id} in the database: {_db_error(exc)}"
                ) from exc
            return
        self._failures = 0
        self._clear()
        if beat:
            self._last_heartbeat = now

    def _clear(self) -> None:
        self._jobs, self._new_attempts, self._ended_attempts, self._logs = {}, [], [], []
        self._outputs, self._inputs, self._metrics, self._changes = [], [], [], []

    def _write(self, now: float, beat: bool) -> None:
        if self.closed_elsewhere is not None:
            # The run was closed by another process: its job states are that process's now (they
            # went through the transition table there); the logs this one still gets are kept.
            self._jobs, self._changes = {}, []
        if self._logs:
            FOREGROUND.step_aside(LOG_WRITE_STEPS_ASIDE_FOR)
        with self.db.begin() as conn:
            repo.insert_log_lines(conn, self._logs)
            repo.create_attempts(conn, self._new_attempts)
            repo.update_attempts(conn, self._ended_attempts)
            for job_id, rows in self._outputs:
                repo.insert_outputs(conn, job_id, rows)
            for job_id, rows in self._inputs:
                repo.insert_inputs(conn, job_id, rows)
            for job_id, values in self._metrics:
                repo.insert_metrics(conn, self.run_id, job_id, values)
            by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for job_id, values in self._jobs.items():
                by_columns.setdefault(tuple(sorted(values)), []).append({"id": job_id, **values})
            for rows in by_columns.values():
                repo.update_jobs(conn, rows)
            repo.insert_state_changes(conn, self._changes)
            if beat:
                repo.heartbeat(conn, self.run_id, now)
            if (self._jobs or self._changes) and self.closed_elsewhere is None:
                # Read after the writes, so under the write lock: a recovery that closed the run
                # meanwhile has committed, and its job states must not be overwritten.
                state, reason = repo.get_run_state(conn, self.run_id)
                if RunState(state) in TERMINAL_RUN_STATES:
                    self.closed_elsewhere = RunClosedElsewhere(self.run_id, RunState(state), reason)
                    raise _ClosedMeanwhile

    def set_run(self, state: RunState, *, expected: RunState | None = None, **values: Any) -> None:
        """Change the run's state now, through the transition table, recorded in the history.

        ``expected``: the state this process believes the run is in (default: what the database
        says). If another process closed the run meanwhile, raises :class:`RunClosedElsewhere`
        instead of an InvalidTransition, and writes nothing. What is still buffered is written first
        (retried, else :class:`JournalError`): a run never ends before its logs and jobs are stored.
        """
        while self.dirty:
            time.sleep(0.1 * self._failures)
            self.flush()  # raises JournalError after FLUSH_ATTEMPTS failures in a row
        now = time.time()
        with self.db.begin() as conn:
            run = repo.get_run(conn, self.run_id)
            current = RunState(run.state)
            if expected is not None and current is not expected and current in TERMINAL_RUN_STATES:
                raise RunClosedElsewhere(self.run_id, current, run.reason)
            if current is not state:
                check_run_transition(self.run_id, current, state)
            if not repo.update_run_if(conn, self.run_id, current, state=str(state), **values):
                changed = repo.get_run(conn, self.run_id)
                raise RunClosedElsewhere(self.run_id, RunState(changed.state), changed.reason)
            if current is not state:
                reason = values.get("reason")
                repo.insert_state_changes(
                    conn, [repo.state_change(self.run_id, None, current, state, now, reason=reason)]
                )

    def run_started_at(self) -> float | None:
        """When the run first started (None: it never did)."""
        with self.db.connect() as conn:
            return repo.get_run(conn, self.run_id).started_at

    def cancel_requested(self) -> bool:
        """Whether `reefline cancel` asked to stop; also notices a run closed by another process."""
        with self.db.connect() as conn:
            state, reason = repo.get_run_state(conn, self.run_id)
            requested = repo.is_cancel_requested(conn, self.run_id)
        if RunState(state) in TERMINAL_RUN_STATES and self.closed_elsewhere is None:
            self.closed_elsewhere = RunClosedElsewhere(self.run_id, RunState(state), reason)
        return requested or self.closed_elsewhere is not None


def _artifact_row(record: ArtifactRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "path": record.path,
        "type": record.type,
        "sha256": record.sha256,
        "size": record.size,
    }
