"""The live progress renderers, fed synthetic engine events."""

from __future__ import annotations

import io
import re

from rich.console import Console

from reefline.cli.progress import LiveProgress, PlainProgress, make_progress
from reefline.engine.events import JobEvent, StepInfo
from reefline.engine.states import JobState, RunState


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def steps(*names: str) -> list[StepInfo]:
    return [StepInfo(name=n, job=n.split("[")[0], stage="s", needs=(), max_attempts=3) for n in names]


def ev(name: str, state: JobState, attempt: int = 1, **kw: object) -> JobEvent:
    return JobEvent(run_id=7, name=name, state=state, attempt=attempt, **kw)  # type: ignore[arg-type]


def _drive_failing_run(p: PlainProgress | LiveProgress, clock: FakeClock) -> None:
    t0 = clock.now
    p.run_started(7, steps("prepare", "train[model=tree]", "report", "lint"))
    p.job_changed(ev("prepare", JobState.CACHED, attempt=0, reason="cached from run 6"))
    p.job_changed(ev("train[model=tree]", JobState.QUEUED))
    p.job_changed(ev("train[model=tree]", JobState.RUNNING, started_at=t0))
    for i in range(25):
        p.log_line(7, "train[model=tree]", "stdout", t0, f"line {i}\n")
    p.job_changed(ev("train[model=tree]", JobState.QUEUED, attempt=1, reason="exit code 1"))
    p.job_changed(ev("train[model=tree]", JobState.RUNNING, attempt=2, started_at=t0 + 1))
    p.log_line(7, "train[model=tree]", "stderr", t0 + 1, "boom")
    clock.now = t0 + 2.5
    p.job_changed(
        ev(
            "train[model=tree]",
            JobState.FAILED,
            attempt=2,
            exit_code=3,
            started_at=t0 + 1,
            finished_at=t0 + 2.5,
        )
    )
    p.job_changed(ev("report", JobState.SKIPPED, attempt=0, reason="an upstream job failed"))
    p.job_changed(ev("lint", JobState.RUNNING, started_at=t0))
    p.job_changed(ev("lint", JobState.SUCCESS, started_at=t0, finished_at=t0 + 1.2))
    clock.now = t0 + 4.2
    p.run_finished(7, RunState.FAILED, "1 job failed")


def test_plain_progress_prints_one_line_per_event() -> None:
    out = io.StringIO()
    clock = FakeClock()
    p = PlainProgress(out, clock=clock)
    _drive_failing_run(p, clock)
    text = re.sub(r"^\d\d:\d\d:\d\d ", "", out.getvalue(), flags=re.MULTILINE)
    lines = text.splitlines()
    assert lines[0] == "run 7 started: 4 jobs"
    assert "prepare cached (cached from run 6)" in lines
    assert "train[model=tree] queued" not in lines  # every job is queued first: no line for that
    assert "train[model=tree] will retry (exit code 1)" in lines
    assert "train[model=tree] running (attempt 2/3)" in lines
    assert "train[model=tree] failed (attempt 2/3) 1.5s exit 3" in lines
    assert "report skipped (an upstream job failed)" in lines
    assert "lint success 1.2s" in lines
    # the tail of the failed attempt only: its single line, not the 25 of the first attempt
    assert "--- last 1 log lines of train[model=tree] ---" in lines
    assert "  boom" in lines
    assert "line 3" not in text
    assert (
        lines[-2] == "run 7 failed in 4.2s (1 job failed) — 4 jobs: 1 success, 1 cached, 1 failed, 1 skipped"
    )
    assert lines[-1] == "  see: reefline logs 7 train[model=tree]"


def test_plain_progress_keeps_the_last_20_lines_and_verbose_prints_logs() -> None:
    out = io.StringIO()
    p = PlainProgress(out, verbose=True, clock=FakeClock())
    p.run_started(1, steps("a"))
    p.job_changed(ev("a", JobState.RUNNING))
    for i in range(30):
        p.log_line(1, "a", "stdout", 0.0, f"l{i}")
    p.job_changed(ev("a", JobState.FAILED, exit_code=1))
    text = out.getvalue()
    assert "a | l0\n" in text  # verbose
    tail = text.split("--- last 20 log lines of a ---\n")[1]
    assert tail.startswith("  l10\n")
    assert "  l29\n---\n" in tail


def test_plain_progress_success_summary() -> None:
    out = io.StringIO()
    clock = FakeClock()
    p = PlainProgress(out, clock=clock)
    p.run_started(12, steps("a", "b", "c", "d", "e"))
    for name in "abc":
        p.job_changed(ev(name, JobState.SUCCESS, started_at=clock.now, finished_at=clock.now + 1))
    for name in "de":
        p.job_changed(ev(name, JobState.CACHED, attempt=0))
    clock.now += 4.2
    p.run_finished(12, RunState.SUCCESS, None)
    assert out.getvalue().splitlines()[-1].endswith("run 12 success in 4.2s — 5 jobs: 3 success, 2 cached")


def tty_console(height: int = 40) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=100, height=height, color_system="truecolor")
    return console, buf


def plain_text(console: Console, renderable: object) -> str:
    with console.capture() as capture:
        console.print(renderable)
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", capture.get())


def test_live_progress_renders_one_line_per_job() -> None:
    console, _ = tty_console()
    clock = FakeClock()
    p = LiveProgress(console, clock=clock, auto_refresh=False)
    p.run_started(7, steps("prepare", "train[model=tree]", "report", "lint"))
    p.job_changed(ev("prepare", JobState.CACHED, attempt=0))
    p.job_changed(ev("train[model=tree]", JobState.RUNNING, attempt=2, started_at=clock.now))
    p.job_changed(ev("report", JobState.SKIPPED, attempt=0, reason="if: false"))
    clock.now += 3.0
    screen = plain_text(console, p.render())
    lines = [line.rstrip() for line in screen.splitlines()]
    assert lines[0].startswith("↺ prepare") and "cached" in lines[0]
    assert "train[model=tree]" in lines[1] and "3.0s" in lines[1] and "(attempt 2/3)" in lines[1]
    assert lines[2].startswith("⊘ report") and "if: false" in lines[2]
    assert lines[3].startswith("· lint")
    p.close()


def test_live_progress_prints_failure_tail_and_summary() -> None:
    console, buf = tty_console()
    clock = FakeClock()
    p = LiveProgress(console, clock=clock, auto_refresh=False)
    _drive_failing_run(p, clock)
    out = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", buf.getvalue())
    assert "✗ train[model=tree] failed exit 3" in out
    assert "│ boom" in out
    assert "run 7 failed in 4.2s (1 job failed) — 4 jobs: 1 success, 1 cached, 1 failed, 1 skipped" in out
    assert "see: reefline logs 7 train[model=tree]" in out
    assert "\x1b[" in buf.getvalue()  # coloured


def test_live_progress_collapses_many_jobs() -> None:
    console, _ = tty_console(height=20)
    p = LiveProgress(console, clock=FakeClock(), auto_refresh=False)
    names = [f"job{i}" for i in range(1000)]
    p.run_started(3, steps(*names))
    for name in names[:412]:
        p.job_changed(ev(name, JobState.SUCCESS))
    p.job_changed(ev("job500", JobState.RUNNING))
    p.job_changed(ev("job501", JobState.RUNNING))
    p.job_changed(ev("job502", JobState.FAILED, exit_code=2))
    screen = plain_text(console, p.render())
    lines = screen.splitlines()
    assert len(lines) <= 20
    assert any("job500" in line for line in lines)
    assert any("job502" in line and "exit 2" in line for line in lines)
    assert not any(line.startswith("✓ job1 ") for line in lines)
    assert lines[-1] == "412 success · 1 failed · 2 running · 585 pending"
    p.close()


def test_live_progress_shows_canceling() -> None:
    console, _ = tty_console()
    p = LiveProgress(console, clock=FakeClock(), auto_refresh=False)
    p.run_started(3, steps("a"))
    p.canceling()
    assert "canceling… (Ctrl-C again to force)" in plain_text(console, p.render())
    p.close()


def test_make_progress_picks_plain_when_not_a_terminal() -> None:
    out = io.StringIO()
    assert isinstance(make_progress(Console(file=out), out, plain=False, verbose=False), PlainProgress)
    console, buf = tty_console()
    assert isinstance(make_progress(console, buf, plain=False, verbose=False), LiveProgress)
    assert isinstance(make_progress(console, buf, plain=True, verbose=False), PlainProgress)


def test_a_retried_run_counts_attempts_on_and_an_interrupted_run_says_why() -> None:
    clock = FakeClock()
    out = io.StringIO()
    p = PlainProgress(out, clock=clock)
    # A retry: two attempts were made before, the budget is two more (the engine says 4).
    p.run_started(8, [StepInfo("build", "build", "s", (), JobState.PENDING, 4)])
    p.job_changed(ev("build", JobState.RUNNING, attempt=3, started_at=clock.now))
    p.run_finished(8, RunState.INTERRUPTED, "run 8 was closed as interrupted by another reefline process")
    text = out.getvalue()
    assert "build running (attempt 3/4)" in text
    assert "run 8 interrupted in" in text and "closed as interrupted by another" in text
    console = Console(file=io.StringIO(), width=100, force_terminal=True, color_system=None)
    live = LiveProgress(console, clock=clock, auto_refresh=False)
    live.run_started(8, [StepInfo("build", "build", "s", (), JobState.INTERRUPTED, 1)])
    live.close()
    assert "↯ build" in console.file.getvalue()  # type: ignore[attr-defined]
