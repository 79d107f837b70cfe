"""The JSON shapes of runs, jobs, attempts and state changes: one set of pydantic models for the
CLI's ``--json`` and the REST API, documented in the README and in the OpenAPI schema.

Times are ISO 8601 strings in UTC (or null), durations seconds (or null), keys snake_case.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from reefline.services.timefmt import duration_seconds, iso
from reefline.services.types import JobDetail, RunDetail
from reefline.store.rows import AttemptRow, OutputRow, RunRow, StateChangeRow


class RunShape(BaseModel):
    id: int
    pipeline: str
    state: str = Field(
        description="queued, pending, running, canceling, success, failed, canceled, interrupted"
    )
    reason: str | None = Field(description="why it failed, was canceled or interrupted")
    trigger: str = Field(description="cli, retry, api, …")
    params: dict[str, Any]
    spec_path: str
    revision: int | None = Field(default=None, description="the number of the pipeline revision it ran")
    revision_id: int | None = Field(default=None, description="that revision's id")
    triggered_by: int | None = Field(default=None, description="the id of the user who started it")
    triggered_by_name: str | None = Field(default=None, description="the username of the user who started it")
    created_at: str | None
    started_at: str | None = Field(description="the first start (a retried run keeps it)")
    last_started_at: str | None = Field(description="the latest start (a retry's)")
    finished_at: str | None
    duration: float | None

    @classmethod
    def of(cls, run: RunRow) -> RunShape:
        return cls(**run_fields(run))


def run_fields(run: RunRow) -> dict[str, Any]:
    """A run's fields of :class:`RunShape` (also the head of :class:`RunDetailShape`)."""
    return dict(
        id=run.id,
        pipeline=run.pipeline_name,
        state=str(run.state),
        reason=run.reason,
        trigger=run.trigger,
        params=run.params,
        spec_path=run.spec_path,
        revision=run.revision,
        revision_id=run.revision_id,
        triggered_by=run.triggered_by,
        triggered_by_name=run.triggered_by_name,
        created_at=iso(run.created_at),
        started_at=iso(run.started_at),
        last_started_at=iso(run.last_started_at),
        finished_at=iso(run.finished_at),
        duration=duration_seconds(run.started_at, run.finished_at),
    )


class OutputShape(BaseModel):
    name: str
    path: str
    type: str
    sha256: str
    size: int

    @classmethod
    def of(cls, row: OutputRow) -> OutputShape:
        return cls(name=row.name, path=row.path, type=row.type, sha256=row.sha256, size=row.size)


class AttemptShape(BaseModel):
    number: int
    state: str
    exit_code: int | None
    error: str | None
    started_at: str | None
    finished_at: str | None
    duration: float | None
    cpu_seconds: float | None
    peak_rss_bytes: int | None

    @classmethod
    def of(cls, row: AttemptRow) -> AttemptShape:
        return cls(
            number=row.number,
            state=str(row.state),
            exit_code=row.exit_code,
            error=row.error,
            started_at=iso(row.started_at),
            finished_at=iso(row.finished_at),
            duration=duration_seconds(row.started_at, row.finished_at),
            cpu_seconds=row.cpu_seconds,
            peak_rss_bytes=row.peak_rss_bytes,
        )


class JobShape(BaseModel):
    name: str = Field(description='the step id, e.g. "train[model=tree]"')
    job: str = Field(description="the job's key in the spec")
    stage: str
    matrix: dict[str, Any]
    needs: list[str]
    state: str
    reason: str | None
    attempts: int
    exit_code: int | None
    allow_failure: bool
    cached_from_job_id: int | None
    cached_from_run_id: int | None
    started_at: str | None
    finished_at: str | None
    duration: float | None
    outputs: list[OutputShape]
    metrics: dict[str, float]
    attempt_history: list[AttemptShape]

    @classmethod
    def of(cls, detail: JobDetail, metrics: dict[str, float]) -> JobShape:
        job = detail.job
        return cls(
            name=job.name,
            job=job.job,
            stage=job.stage,
            matrix=job.matrix,
            needs=job.needs,
            state=str(job.state),
            reason=job.reason,
            attempts=job.attempts,
            exit_code=job.exit_code,
            allow_failure=job.allow_failure,
            cached_from_job_id=job.cached_from_job_id,
            cached_from_run_id=detail.cached_from_run_id,
            started_at=iso(job.started_at),
            finished_at=iso(job.finished_at),
            duration=duration_seconds(job.started_at, job.finished_at),
            outputs=[OutputShape.of(o) for o in detail.outputs],
            metrics=metrics,
            attempt_history=[AttemptShape.of(a) for a in detail.attempts],
        )


class StateChangeShape(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    job: str | None = Field(description="null: a change of the run's own state")
    from_state: str | None = Field(alias="from", description="null when the run or job was created")
    to_state: str = Field(alias="to")
    at: str | None
    reason: str | None
    attempt: int | None

    @classmethod
    def of(cls, row: StateChangeRow) -> StateChangeShape:
        return cls(
            job=row.job_name,
            from_state=row.from_state,
            to_state=row.to_state,
            at=iso(row.at),
            reason=row.reason,
            attempt=row.attempt,
        )


class RunDetailShape(RunShape):
    """A run with its jobs (each with its outputs, metrics and attempts) and its state history."""

    jobs: list[JobShape]
    history: list[StateChangeShape] = Field(description="every state change, oldest first")

    @classmethod
    def of_detail(cls, detail: RunDetail) -> RunDetailShape:
        by_job: dict[int, dict[str, float]] = {}
        for metric in detail.metrics:
            by_job.setdefault(metric.job_id, {})[metric.key] = metric.value
        return cls(
            **run_fields(detail.run),  # not RunShape.of(…).model_dump(): that validates the run twice
            jobs=[JobShape.of(j, by_job.get(j.job.id, {})) for j in detail.jobs],
            history=[StateChangeShape.of(c) for c in detail.history],
        )
