"""What the Python SDK records: a component type, one run of it, its inputs and outputs.

Plain dataclasses without SQLAlchemy, so decorating a function costs no database import; the
store (``repo_components``), the server's body and the SDK share them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ComponentSpec:
    """A component type as its decorator (or ``reefline components register``) describes it."""

    name: str
    kind: str | None = None  # None: the stored one (or "component" for a new one)
    owner: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class ArtifactRecord:
    direction: str  # in | out
    path: str | None  # None: an output id logged without a value
    kind: str  # file | dir | label
    sha256: str | None
    size: int | None
    label: str | None = None  # an output id, e.g. "prediction-8812"


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One finished call of a component, as the SDK measured it."""

    status: str  # success | failed
    started_at: float
    finished_at: float
    exception: str | None = None
    git_commit: str | None = None
    git_branch: str | None = None
    git_dirty: bool | None = None
    host: str | None = None
    pid: int | None = None
    workspace: str | None = None
    job_id: int | None = None  # the Reefline job it ran inside, and which attempt of it
    attempt: int | None = None
    artifacts: tuple[ArtifactRecord, ...] = ()
