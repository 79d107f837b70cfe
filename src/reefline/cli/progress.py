"""Live progress of a run in the terminal: a :class:`~reefline.engine.events.RunObserver`.

Two renderers share one tracker of job states and log tails:

* :class:`LiveProgress` (a TTY): one line per job in plan order, redrawn ~8 times a second with
  rich ``Live``; collapsed to running/failed jobs plus a counts line when the plan is taller than
  the terminal. When a job fails, the last lines of its log are printed above the live area.
* :class:`PlainProgress` (pipes, CI, ``--plain``): one line per event with ``sys.stdout.write``,
  so thousands of events stay cheap.

The engine calls the observer from its own thread; rich's refresh thread reads the tracker, so the
tracker's state is guarded by a lock.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from reefline.cli.common import format_duration
from reefline.engine.states import TERMINAL_JOB_STATES, JobState, RunState

if TYPE_CHECKING:
    from reefline.engine.events import JobEvent, StepInfo

LOG_TAIL_LINES = 20
# Terminal lines kept free for the header, counts line and shell prompt when collapsing.
RESERVED_LINES = 6

# state -> (icon, style)
ICONS: dict[str, tuple[str, str]] = {
    JobState.PENDING: ("·", "dim"),
    JobState.QUEUED: ("…", "dim"),
    JobState.RUNNING: ("", "blue"),  # a spinner
    JobState.SUCCESS: ("✓", "green"),
    JobState.CACHED: ("↺", "cyan"),
    JobState.FAILED: ("✗", "red"),
    JobState.SKIPPED: ("⊘", "dim"),
    JobState.CANCELED: ("■", "yellow"),
    JobState.INTERRUPTED: ("↯", "magenta"),
}
TERMINAL = TERMINAL_JOB_STATES
COUNT_ORDER: tuple[str, ...] = (
    JobState.SUCCESS,
    JobState.CACHED,
    JobState.FAILED,
    JobState.INTERRUPTED,
    JobState.CANCELED,
    JobState.SKIPPED,
    JobState.RUNNING,
    JobState.QUEUED,
    JobState.PENDING,
)
_REASON_SHOWN = frozenset(
    {JobState.FAILED, JobState.SKIPPED, JobState.CANCELED, JobState.CACHED, JobState.INTERRUPTED}
)


@dataclass(slots=True)
class JobView:
    """What the progress display knows about one step."""

    name: str
    state: str = JobState.PENDING
    attempt: int = 0
    max_attempts: int | None = None
    reason: str | None = None
    exit_code: int | None = None
    started_at: float | None = None
    finished_at: float | None = None
    log_tail: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_TAIL_LINES))

    def elapsed(self, now: float) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at if self.finished_at is not None else now
        return max(0.0, end - self.started_at)


def attempt_text(job: JobView) -> str:
    if job.attempt <= 1:
        return ""
    total = f"/{job.max_attempts}" if job.max_attempts else ""
    return f"(attempt {job.attempt}{total})"


def shown_reason(job: JobView) -> str | None:
    """The reason worth printing: not one that only repeats the exit code."""
    if not job.reason or job.state not in _REASON_SHOWN:
        return None
    if job.exit_code is not None and job.reason == f"exited with code {job.exit_code}":
        return None
    return job.reason


class Tracker:
    """Job states in plan order, log tails and the run's outcome; shared by both renderers."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.run_id: int | None = None
        self.jobs: dict[str, JobView] = {}
        self.run_started_at: float | None = None
        self.run_finished_at: float | None = None
        self.state: str | None = None
        self.reason: str | None = None
        self.canceling = False

    def start(self, run_id: int, steps: Iterable[StepInfo]) -> None:
        with self.lock:
            self.run_id = run_id
            self.run_started_at = self.clock()
            self.jobs = {}
            for step in steps:
                # A retried run starts with some jobs already done.
                self.jobs[step.name] = JobView(
                    step.name, state=str(step.state), max_attempts=step.max_attempts
                )

    def update(self, event: JobEvent) -> JobView:
        with self.lock:
            job = self.jobs.get(event.name)
            if job is None:  # an event for a step we were not told about: show it anyway
                job = self.jobs[event.name] = JobView(event.name)
            state = str(event.state)
            if state == JobState.RUNNING and event.attempt != job.attempt:
                job.log_tail.clear()  # keep the log of the latest attempt only
                job.finished_at = None
            job.state = state
            job.attempt = event.attempt
            job.reason = event.reason
            job.exit_code = event.exit_code
            if event.started_at is not None:
                job.started_at = event.started_at
            elif state == JobState.RUNNING and job.started_at is None:
                job.started_at = self.clock()
            if event.finished_at is not None:
                job.finished_at = event.finished_at
            elif state in TERMINAL and job.started_at is not None and job.finished_at is None:
                job.finished_at = self.clock()
            return job

    def log(self, name: str, text: str) -> None:
        with self.lock:
            job = self.jobs.get(name)
            if job is not None:
                job.log_tail.append(text.rstrip("\n"))

    def finish(self, state: RunState, reason: str | None) -> None:
        with self.lock:
            self.state = str(state)
            self.reason = reason
            self.run_finished_at = self.clock()

    def counts(self) -> Counter[str]:
        with self.lock:
            return Counter(j.state for j in self.jobs.values())

    def failed(self) -> list[str]:
        with self.lock:
            return [j.name for j in self.jobs.values() if j.state == JobState.FAILED]

    def counts_text(self, states: Iterable[str] = COUNT_ORDER) -> str:
        counts = self.counts()
        return " · ".join(f"{counts[s]} {s}" for s in states if counts[s])

    def summary(self) -> str:
        """``run 12 success in 4.2s — 5 jobs: 3 success, 2 cached`` (+ ``: reason`` when not success)."""
        counts = self.counts()
        total = sum(counts.values())
        elapsed = (self.run_finished_at or self.clock()) - (self.run_started_at or self.clock())
        parts = ", ".join(f"{counts[s]} {s}" for s in COUNT_ORDER if counts[s])
        head = f"run {self.run_id} {self.state} in {format_duration(elapsed)}"
        if self.reason and self.state != RunState.SUCCESS:
            head += f" ({self.reason})"
        jobs = "job" if total == 1 else "jobs"
        return f"{head} — {total} {jobs}: {parts}" if total else head

    def hints(self) -> list[str]:
        return [f"reefline logs {self.run_id} {name}" for name in self.failed()]


class PlainProgress:
    """One line per event, for pipes and CI logs: ``12:01:02 train[model=tree] success 1.2s``."""

    def __init__(self, out: TextIO, *, verbose: bool = False, clock: Callable[[], float] = time.time) -> None:
        self.out = out
        self.verbose = verbose
        self.tracker = Tracker(clock)

    def _stamp(self, ts: float | None = None) -> str:
        return time.strftime("%H:%M:%S", time.localtime(ts if ts is not None else self.tracker.clock()))

    def run_started(self, run_id: int, steps: list[StepInfo]) -> None:
        self.tracker.start(run_id, steps)
        self.out.write(f"{self._stamp()} run {run_id} started: {len(steps)} jobs\n")
        self.out.flush()

    def job_changed(self, event: JobEvent) -> None:
        job = self.tracker.update(event)
        if job.state == JobState.QUEUED:
            # Every job is queued before it runs; only a retry makes that worth a line.
            if event.reason:
                self.out.write(f"{self._stamp()} {event.name} will retry ({event.reason})\n")
                self.out.flush()
            return
        words = [self._stamp(), event.name, job.state]
        attempt = attempt_text(job)
        if attempt:
            words.append(attempt)
        if job.state in (JobState.SUCCESS, JobState.FAILED, JobState.CANCELED):
            elapsed = job.elapsed(self.tracker.clock())
            if elapsed is not None:
                words.append(format_duration(elapsed))
        if job.state == JobState.FAILED and job.exit_code is not None:
            words.append(f"exit {job.exit_code}")
        reason = shown_reason(job)
        if reason:
            words.append(f"({reason})")
        self.out.write(" ".join(words) + "\n")
        if job.state == JobState.FAILED and job.log_tail:
            self.out.write(f"--- last {len(job.log_tail)} log lines of {job.name} ---\n")
            self.out.writelines(f"  {line}\n" for line in job.log_tail)
            self.out.write("---\n")
        self.out.flush()

    def log_line(self, run_id: int, name: str, stream: str, ts: float, text: str) -> None:
        self.tracker.log(name, text)
        if self.verbose:
            self.out.write(f"{name} | {text.rstrip(chr(10))}\n")

    def run_finished(self, run_id: int, state: RunState, reason: str | None) -> None:
        self.tracker.finish(state, reason)
        self.out.write(f"{self._stamp()} {self.tracker.summary()}\n")
        for hint in self.tracker.hints():
            self.out.write(f"  see: {hint}\n")
        self.out.flush()

    def canceling(self) -> None:
        """Called from the SIGINT handler: a raw write, since ``self.out`` may be mid-write."""
        self.tracker.canceling = True
        with contextlib.suppress(OSError):
            os.write(2, "canceling… (Ctrl-C again to force)\n".encode())

    def close(self) -> None:
        self.out.flush()


class LiveProgress:
    """A redrawn table of jobs for an interactive terminal."""

    def __init__(
        self,
        console: Console,
        *,
        verbose: bool = False,
        clock: Callable[[], float] = time.time,
        auto_refresh: bool = True,
    ) -> None:
        self.console = console
        self.verbose = verbose
        self.tracker = Tracker(clock)
        self.spinner = Spinner("dots", style="blue")
        self.live = Live(
            console=console,
            get_renderable=self.render,
            refresh_per_second=8,
            transient=False,
            auto_refresh=auto_refresh,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._started = False

    # -- observer callbacks --------------------------------------------------------------------

    def run_started(self, run_id: int, steps: list[StepInfo]) -> None:
        self.tracker.start(run_id, steps)
        if not self._started:
            self.live.start()
            self._started = True

    def job_changed(self, event: JobEvent) -> None:
        job = self.tracker.update(event)
        if job.state == JobState.FAILED:
            self._print_tail(job)

    def log_line(self, run_id: int, name: str, stream: str, ts: float, text: str) -> None:
        self.tracker.log(name, text)
        if self.verbose:
            line = Text(f"{name} | ", style="dim")
            line.append(text.rstrip("\n"))
            self.console.print(line)

    def run_finished(self, run_id: int, state: RunState, reason: str | None) -> None:
        self.tracker.finish(state, reason)
        self.close()
        style = {
            RunState.SUCCESS: "bold green",
            RunState.FAILED: "bold red",
            RunState.CANCELED: "bold yellow",
            RunState.INTERRUPTED: "bold magenta",
        }.get(RunState(state), "")
        self.console.print(Text(self.tracker.summary(), style=style))
        for hint in self.tracker.hints():
            self.console.print(Text(f"  see: {hint}", style="dim"))

    def canceling(self) -> None:
        """Called from the SIGINT handler: only sets a flag, the next refresh shows it."""
        self.tracker.canceling = True

    def close(self) -> None:
        if self._started:
            self.live.refresh()
            self.live.stop()
            self._started = False

    # -- rendering -----------------------------------------------------------------------------

    def _print_tail(self, job: JobView) -> None:
        shown = shown_reason(job)
        reason = f" ({shown})" if shown else ""
        exit_text = f" exit {job.exit_code}" if job.exit_code is not None else ""
        self.console.print(Text(f"✗ {job.name} failed{exit_text}{reason}", style="bold red"))
        if job.log_tail:
            self.console.print(Text(f"  last {len(job.log_tail)} log lines:", style="dim"))
            for line in list(job.log_tail):
                self.console.print(Text(f"  │ {line}"), overflow="ignore", crop=False)

    def _row(self, table: Table, job: JobView, now: float) -> None:
        icon, style = ICONS.get(job.state, ("?", ""))
        icon_cell: RenderableType = self.spinner if job.state == JobState.RUNNING else Text(icon, style=style)
        name_style = "dim" if job.state in (JobState.PENDING, JobState.QUEUED, JobState.SKIPPED) else ""
        elapsed = job.elapsed(now)
        time_text = format_duration(elapsed) if elapsed is not None else ""
        extra: list[str] = []
        if job.state == JobState.CACHED:
            extra.append("[cyan]cached[/]")
        attempt = attempt_text(job)
        if attempt:
            extra.append(f"[yellow]{attempt}[/]")
        if job.state == JobState.FAILED and job.exit_code is not None:
            extra.append(f"[red]exit {job.exit_code}[/]")
        reason = shown_reason(job)
        if reason and job.state != JobState.CACHED:
            extra.append(f"[dim]{escape(reason)}[/]")
        table.add_row(
            icon_cell, Text(job.name, style=name_style), Text(time_text, style="dim"), " ".join(extra)
        )

    def render(self) -> RenderableType:
        now = self.tracker.clock()
        table = Table.grid(padding=(0, 1))
        table.add_column(width=1, no_wrap=True)
        table.add_column(no_wrap=True, overflow="ellipsis", max_width=max(20, self.console.width // 2))
        table.add_column(justify="right", no_wrap=True)
        table.add_column(overflow="ellipsis", no_wrap=True)
        with self.tracker.lock:
            jobs = list(self.tracker.jobs.values())
            room = max(1, self.console.height - RESERVED_LINES)
            collapsed = len(jobs) > room
            if collapsed:
                shown = [j for j in jobs if j.state in (JobState.RUNNING, JobState.FAILED)]
                hidden = len(shown) - (room - 1)
                if hidden > 0:  # even the running/failed ones do not fit: keep failures first
                    shown.sort(key=lambda j: j.state != JobState.FAILED)
                    shown = shown[: room - 1]
            else:
                shown = jobs
            for job in shown:
                self._row(table, job, now)
            parts: list[RenderableType] = [table]
            if collapsed:
                parts.append(Text(self.tracker.counts_text(), style="bold"))
            if self.tracker.canceling and self.tracker.state is None:
                parts.append(Text("canceling… (Ctrl-C again to force)", style="yellow"))
        return Group(*parts)


Progress = PlainProgress | LiveProgress


def make_progress(console: Console, out: TextIO, *, plain: bool, verbose: bool) -> Progress:
    """Live progress on an interactive terminal, plain lines otherwise (or when asked)."""
    if plain or not console.is_terminal or console.is_dumb_terminal:
        return PlainProgress(out, verbose=verbose)
    return LiveProgress(console, verbose=verbose)
