"""Plain, immutable rows returned by the store's read functions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class RunRow:
    id: int
    pipeline_id: int
    pipeline_name: str
    state: str
    trigger: str
    reason: str | None
    spec_text: str
    spec_path: str
    spec_hash: str
    params: dict[str, Any]
    workspace: str
    options: dict[str, Any]
    created_at: float
    started_at: float | None
    finished_at: float | None
    owner_host: str | None
    owner_pid: int | None
    heartbeat_at: float | None
    cancel_requested: bool
    owner_token: str | None = None
    last_started_at: float | None = None
    revision_id: int | None = None
    triggered_by: int | None = None
    lease_owner: str | None = None  # the engine host holding the run (None: a laptop run)
    lease_expires_at: float | None = None
    revision: int | None = None  # the number of the revision it ran (revision_id's), per pipeline
    git_commit: str | None = None  # provenance of the workspace (None: not a git repository)
    git_branch: str | None = None
    git_dirty: bool | None = None
    triggered_by_name: str | None = None  # the username of triggered_by


@dataclass(frozen=True, slots=True)
class JobRow:
    id: int
    run_id: int
    name: str  # step id, e.g. "train[model=tree]"
    job: str  # job key in the spec, e.g. "train"
    stage: str
    position: int
    matrix: dict[str, Any]
    needs: list[str]
    state: str
    reason: str | None
    cache_key: str | None
    cached_from_job_id: int | None
    attempts: int
    exit_code: int | None
    allow_failure: bool
    started_at: float | None
    finished_at: float | None
    definition_hash: str | None = None  # the step's definition (None: recorded before schema 0006)


@dataclass(frozen=True, slots=True)
class AttemptRow:
    id: int
    job_id: int
    number: int
    state: str
    exit_code: int | None
    error: str | None
    started_at: float | None
    finished_at: float | None
    cpu_seconds: float | None
    peak_rss_bytes: int | None
    code: dict[str, Any] | None = None  # the code fingerprint (None: recorded before schema 0009)


@dataclass(frozen=True, slots=True)
class ArtifactLinkRow:
    """A row of ``inputs`` or ``outputs`` (the columns they share, then each one's own)."""

    id: int
    job_id: int
    name: str
    path: str
    type: str
    sha256: str
    size: int
    producer_job_id: int | None = None  # an input: the job of this run whose output it is (from:)
    attempt: int | None = None  # an output: the attempt that made the bytes (a cached job: the original's)
    uri: str | None = None  # an output: where the artifact store keeps it (None: not kept)
    recorded_at: float | None = None  # an output: when it was recorded


# The names the callers know; one type since inputs and outputs share their columns.
OutputRow = ArtifactLinkRow
InputRow = ArtifactLinkRow


@dataclass(frozen=True, slots=True)
class LogRow:
    id: int
    run_id: int
    job_id: int
    attempt: int
    ts: float
    stream: str  # stdout | stderr | system
    text: str
    seq: int = 0  # the line's number within its attempt


@dataclass(frozen=True, slots=True)
class MetricRow:
    id: int
    run_id: int
    job_id: int
    key: str  # dotted path into the JSON, e.g. "test.accuracy"
    value: float


@dataclass(frozen=True, slots=True)
class StateChangeRow:
    """One state change of a run (``job_id`` None) or of one of its jobs."""

    id: int
    run_id: int
    job_id: int | None
    job_name: str | None
    from_state: str | None  # None when the run or job was created
    to_state: str
    at: float
    reason: str | None
    attempt: int | None
