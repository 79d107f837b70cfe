from __future__ import annotations

import textwrap
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from reefline.engine.events import JobEvent, StepInfo
from reefline.engine.states import JobState, RunState
from reefline.services.queries import show_run
from reefline.services.runs import start_run
from reefline.services.types import RunDetail, RunOptions, RunOutcome


@dataclass
class Recorder:
    """Collects what the engine reports, as the CLI's progress display would."""

    events: list[JobEvent] = field(default_factory=list)
    logs: list[tuple[str, str, str]] = field(default_factory=list)
    finished: tuple[RunState, str | None] | None = None
    on_event: Callable[[JobEvent], None] | None = None

    def run_started(self, run_id: int, steps: list[StepInfo]) -> None:
        pass

    def job_changed(self, event: JobEvent) -> None:
        self.events.append(event)
        if self.on_event:
            self.on_event(event)

    def log_line(self, run_id: int, name: str, stream: str, ts: float, text: str) -> None:
        self.logs.append((name, stream, text))

    def run_finished(self, run_id: int, state: RunState, reason: str | None) -> None:
        self.finished = (state, reason)

    def states(self, name: str) -> list[JobState]:
        return [e.state for e in self.events if e.name == name]

    def final(self) -> dict[str, JobState]:
        return {e.name: e.state for e in self.events}


@dataclass
class Project:
    path: Path

    def write(self, spec: str) -> None:
        (self.path / "reefline.yaml").write_text(textwrap.dedent(spec))

    def run(
        self, cancel: threading.Event | None = None, recorder: Recorder | None = None, **options: object
    ) -> tuple[RunOutcome, Recorder]:
        recorder = recorder or Recorder()
        outcome = start_run(
            self.path / "reefline.yaml",
            RunOptions(**options),
            recorder,
            cancel or threading.Event(),  # type: ignore[arg-type]
        )
        return outcome, recorder

    def detail(self, ref: str = "last") -> RunDetail:
        return show_run(self.path, ref)
