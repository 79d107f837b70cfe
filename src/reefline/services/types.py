"""Inputs and results of the service verbs shared by the CLI and (later) the API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: `validate` need not build the store's row classes
    from reefline.engine.states import RunState
    from reefline.spec.diagnostics import Diagnostic
    from reefline.store.rows import AttemptRow, JobRow, MetricRow, OutputRow, RunRow, StateChangeRow


@dataclass(frozen=True)
class RunOptions:
    params: Mapping[str, str] = field(default_factory=dict)  # raw `-p name=value` overrides
    parallelism: int | None = None  # None: CPU count
    only: tuple[
        str, ...
    ] = ()  # run just these jobs (and nothing else); matrix job names match all expansions
    from_job: str | None = None  # run this job and everything downstream of it
    no_cache: bool = False
    trigger: str = "cli"
    reproduces: int | None = None  # a reproduction: the run it repeats (kept in the run's options)


@dataclass(frozen=True)
class RunOutcome:
    run_id: int
    state: RunState
    reason: str | None


@dataclass(frozen=True)
class JobDetail:
    job: JobRow
    attempts: list[AttemptRow]
    outputs: list[OutputRow]
    cached_from_run_id: int | None = None


@dataclass(frozen=True)
class RunDetail:
    run: RunRow
    jobs: list[JobDetail]
    metrics: list[MetricRow]
    history: list[StateChangeRow] = field(default_factory=list)  # every state change, oldest first


class ServiceError(Exception):
    """A user-facing error: the message is shown as is; exit code 2 (usage/spec).

    The API maps each kind to one status and ``code`` (``server/errors.py``); a plain ServiceError
    is a 400 ``bad_request``. ``details`` is JSON-safe extra context (never a secret).
    """

    code = "bad_request"

    def __init__(self, message: str, *, details: Mapping[str, object] | None = None) -> None:
        super().__init__(message)
        self.details: dict[str, object] = dict(details or {})


class NotFound(ServiceError):
    """No such thing, or one the caller may not see (the API answers 404 for both)."""

    code = "not_found"


class Conflict(ServiceError):
    """The thing exists already, or changed meanwhile (a name taken, a run already finished)."""

    code = "conflict"


class Invalid(ServiceError):
    """Well-formed but unacceptable input (a bad name, an invalid spec, a too-large upload)."""

    code = "invalid"


class Forbidden(ServiceError):
    """The caller is known and may see the thing, but lacks the permission for this action."""

    code = "forbidden"


class Unauthenticated(ServiceError):
    """No valid credentials: a wrong password, an expired or revoked token or session."""

    code = "unauthenticated"


class Unavailable(ServiceError):
    """Something the answer needs cannot be reached now (the artifact store); trying later may work."""

    code = "unavailable"


class RateLimited(ServiceError):
    """Too many attempts (failed sign-ins); ``details["retry_after"]`` is the seconds to wait."""

    code = "rate_limited"


class SpecInvalid(Invalid):
    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__(f"{sum(1 for d in diagnostics if d.severity == 'error')} error(s) in the spec")
        self.diagnostics = diagnostics


@dataclass(frozen=True)
class PlannedStep:
    """One line of `reefline run --dry-run`."""

    name: str
    stage: str
    needs: tuple[str, ...]
    command: str
    status: str  # "would run" | "cached" | "skipped: <reason>"
