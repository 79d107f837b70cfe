"""What the engine tells its observers (the CLI's live progress, later the server's SSE)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from reefline.engine.states import JobState, RunState


@dataclass(frozen=True, slots=True)
class JobEvent:
    """A job changed state. Times are unix seconds."""

    run_id: int
    name: str  # step id, e.g. "train[model=tree]"
    state: JobState
    attempt: int
    reason: str | None = None
    exit_code: int | None = None
    started_at: float | None = None
    finished_at: float | None = None


@dataclass(frozen=True, slots=True)
class StepInfo:
    name: str
    job: str
    stage: str
    needs: tuple[str, ...]
    state: JobState = JobState.PENDING  # a retried run starts with its earlier successes
    max_attempts: int = 1


class RunObserver(Protocol):
    """All callbacks are made from the engine's thread, in order."""

    def run_started(self, run_id: int, steps: list[StepInfo]) -> None: ...

    def job_changed(self, event: JobEvent) -> None: ...

    def log_line(self, run_id: int, name: str, stream: str, ts: float, text: str) -> None: ...

    def run_finished(self, run_id: int, state: RunState, reason: str | None) -> None: ...


class NullObserver:
    def run_started(self, run_id: int, steps: list[StepInfo]) -> None:
        pass

    def job_changed(self, event: JobEvent) -> None:
        pass

    def log_line(self, run_id: int, name: str, stream: str, ts: float, text: str) -> None:
        pass

    def run_finished(self, run_id: int, state: RunState, reason: str | None) -> None:
        pass
