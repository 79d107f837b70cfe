"""What the engine thread decided, buffered and written in one transaction per flush.

Updates of one job are merged, attempts and log lines are written with one ``executemany`` each,
so a 1000-job run costs tens of transactions instead of thousands.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from reefline.engine.cache import ArtifactRecord
from reefline.engine.states import JobState, RunState, check_run_transition
from reefline.executors.base import StepResult
from reefline.store import repo

HEARTBEAT_EVERY = 2.0


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
        self._last_heartbeat = 0.0

    # ------------------------------------------------------------------ buffering

    def job(self, job_id: int, values: Mapping[str, Any]) -> None:
        self._jobs.setdefault(job_id, {}).update(values)

    def attempt_started(self, job_id: int, number: int, started_at: float) -> None:
        self._new_attempts.append(
            {"job_id": job_id, "number": number, "state": str(JobState.RUNNING), "started_at": started_at}
        )

    def attempt_ended(self, job_id: int, number: int, result: StepResult, error: str | None) -> None:
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
            }
        )

    def log(self, job_id: int, attempt: int, stream: str, ts: float, text: str) -> None:
        self._logs.append(
            {
                "run_id": self.run_id,
                "job_id": job_id,
                "attempt": attempt,
                "ts": ts,
                "stream": stream,
                "text": text,
            }
        )

    def outputs(self, job_id: int, records: list[ArtifactRecord]) -> None:
        self._outputs.append((job_id, [_artifact_row(r) for r in records]))

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
        )

    # ------------------------------------------------------------------ writing

    def flush(self) -> None:
        """Write everything buffered (and a heartbeat when one is due) in one transaction."""
        now = time.time()
        beat = now - self._last_heartbeat >= HEARTBEAT_EVERY
        if not beat and not self.dirty:
            return
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
            if beat:
                repo.heartbeat(conn, self.run_id, now)
        self._jobs, self._new_attempts, self._ended_attempts, self._logs = {}, [], [], []
        self._outputs, self._inputs, self._metrics = [], [], []
        if beat:
            self._last_heartbeat = now

    def set_run(self, state: RunState, **values: Any) -> None:
        """Change the run's state now, through the transition table."""
        with self.db.begin() as conn:
            current = RunState(repo.get_run(conn, self.run_id).state)
            if current is not state:
                check_run_transition(self.run_id, current, state)
            repo.update_run(conn, self.run_id, state=str(state), **values)

    def cancel_requested(self) -> bool:
        with self.db.connect() as conn:
            return repo.is_cancel_requested(conn, self.run_id)


def _artifact_row(record: ArtifactRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "path": record.path,
        "type": record.type,
        "sha256": record.sha256,
        "size": record.size,
    }
