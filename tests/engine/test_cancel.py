"""Cancel (Ctrl-C or `reefline cancel`) and interrupted runs leave no process and no open run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import pytest

from reefline.engine.states import JobState, RunState
from reefline.services.queries import list_runs, status_of
from reefline.services.runs import cancel_run
from reefline.services.types import ServiceError
from tests.engine.support import Recorder

if TYPE_CHECKING:
    from tests.engine.support import Project


def _marked(marker: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["environ"]):
        try:
            if (proc.info["environ"] or {}).get("REEFLINE_TEST_MARKER") == marker:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


TREE = """
version: 1
name: tree
variables: {{REEFLINE_TEST_MARKER: "{marker}"}}
jobs:
  busy:
    script:
      - "sleep 300 &"
      - "bash -c 'sleep 300' &"
      - "sleep 300"
  waiting: {{needs: [busy], script: ["true"]}}
  quick: {{needs: [], script: ["true"]}}
"""


def _wait_until_running(rec_events: list, name: str) -> None:  # type: ignore[type-arg]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if any(e.name == name and e.state is JobState.RUNNING for e in rec_events):
            return
        time.sleep(0.05)
    raise AssertionError(f"{name} never started")


def test_cancel_event_stops_the_whole_tree_and_records_canceled(project: Project) -> None:
    marker = f"cancel-{os.getpid()}-{time.time()}"
    project.write(TREE.format(marker=marker))
    cancel = threading.Event()

    def on_event(event) -> None:  # type: ignore[no-untyped-def]
        if event.name == "busy" and event.state is JobState.RUNNING:
            threading.Timer(0.5, cancel.set).start()

    start = time.monotonic()
    outcome, rec = project.run(cancel, Recorder(on_event=on_event))
    assert time.monotonic() - start < 15
    assert outcome.state is RunState.CANCELED
    assert rec.final() == {"quick": JobState.SUCCESS, "busy": JobState.CANCELED, "waiting": JobState.CANCELED}
    time.sleep(0.2)
    assert _marked(marker) == []


def _run_in_background(project: Project) -> tuple[threading.Thread, dict[str, object]]:
    """Start a run in another thread (as from another terminal); return once it is running."""
    result: dict[str, object] = {}
    thread = threading.Thread(target=lambda: result.update(out=project.run()[0]))
    thread.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        runs = list_runs(project.path)
        if runs and runs[0].state == "running":
            return thread, result
        time.sleep(0.05)
    raise AssertionError("the run never started")


def test_cancel_from_another_terminal(project: Project) -> None:
    project.write(
        """
        version: 1
        name: long
        jobs:
          long: {script: ["sleep 60"]}
        """
    )
    thread, result = _run_in_background(project)
    assert cancel_run(project.path, "last") == list_runs(project.path)[0].id
    thread.join(15)
    assert result["out"].state is RunState.CANCELED  # type: ignore[attr-defined]
    assert "reefline cancel" in (list_runs(project.path)[0].reason or "")


def test_killed_run_is_recorded_as_interrupted_and_its_jobs_are_stopped(project: Project) -> None:
    marker = f"killed-{os.getpid()}-{time.time()}"
    project.write(
        f"""
        version: 1
        name: doomed
        variables: {{REEFLINE_TEST_MARKER: "{marker}"}}
        jobs:
          long: {{script: ["sleep 30 &", "sleep 30"]}}
        """
    )
    code = (
        "import threading, pathlib;"
        "from reefline.services.runs import start_run;"
        "from reefline.services.types import RunOptions;"
        "from reefline.engine.events import NullObserver;"
        f"spec = pathlib.Path({str(project.path / 'reefline.yaml')!r});"
        "start_run(spec, RunOptions(), NullObserver(), threading.Event())"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        runs = list_runs(project.path)
        if runs and runs[0].state == "running" and len(_marked(marker)) >= 2:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _marked(marker), "the job's processes outlive the killed engine until recovery"
    # A reader shows the run interrupted, and writes nothing (the leftovers are a writer's job).
    run = list_runs(Path(project.path))[0]
    assert run.state == "interrupted"
    assert (run.reason or "").startswith("interrupted")
    assert status_of(run) == "interrupted"
    assert project.detail().jobs[0].job.state == "interrupted"
    assert _marked(marker)
    # the killed process held the workspace lock; the kernel released it; the next run recovers
    project.write('version: 1\nname: after\njobs:\n  ok: {script: ["true"]}\n')
    assert project.run()[0].state is RunState.SUCCESS
    time.sleep(0.2)
    assert _marked(marker) == []
    detail = project.detail(str(run.id))
    assert detail.run.state == "interrupted" and detail.jobs[0].job.state == "interrupted"
    assert [(c.from_state, c.to_state) for c in detail.history if c.job_id is None] == [
        (None, "pending"),
        ("pending", "running"),
        ("running", "interrupted"),
    ]


def test_a_second_run_in_the_same_workspace_is_refused_while_one_is_going(project: Project) -> None:
    project.write(
        """
        version: 1
        name: exclusive
        jobs:
          slow: {script: ["sleep 1.5"]}
        """
    )
    first, result = _run_in_background(project)
    with pytest.raises(ServiceError, match=r"another reefline run \(pid \d+\) is running"):
        project.run()
    first.join(15)
    assert result["out"].state is RunState.SUCCESS  # type: ignore[attr-defined]
    assert len(list_runs(project.path)) == 1  # the refused run left no trace
    assert project.run()[0].state is RunState.SUCCESS
