"""Shared helpers for the executor tests: steps, log capture, harnesses, leftover-process checks."""

from __future__ import annotations

import contextlib
import os
import shlex
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import psutil

from reefline.executors.base import Executor, StepContext, StepResult, Stream
from reefline.executors.fake import Behavior, FakeExecutor
from reefline.executors.local import LocalExecutor
from reefline.plan.ir import Command, ImageRef, ShellCommand, Step

GRACE = 0.5


def make_step(command: Command | Iterable[str], step_id: str = "s", timeout: float | None = None) -> Step:
    cmd = command if not isinstance(command, Iterable) else ShellCommand(tuple(command))
    return Step(id=step_id, job=step_id, stage="test", command=cmd, env=(), needs=(), timeout=timeout)


@dataclass
class Logs:
    """A thread-safe LogSink that remembers everything."""

    lines: list[tuple[Stream, float, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, stream: Stream, ts: float, line: str) -> None:
        with self.lock:
            self.lines.append((stream, ts, line))

    def of(self, stream: Stream) -> list[str]:
        return [line for s, _, line in self.lines if s == stream]


def run(executor: Executor, step: Step, ctx: StepContext) -> tuple[StepResult, Logs]:
    logs = Logs()
    handle = executor.start(step, ctx, logs)
    try:
        return executor.wait(handle), logs
    finally:
        executor.destroy(handle)


class Harness:
    """Builds a step that behaves as asked, for one executor kind (the contract suite's seam)."""

    kind: str
    executor: Executor

    def step(
        self,
        step_id: str = "s",
        *,
        logs: Iterable[tuple[Stream, str]] = (),
        exit_code: int = 0,
        seconds: float = 0.0,
        hang: bool = False,
        timeout: float | None = None,
    ) -> Step:
        raise NotImplementedError


class LocalHarness(Harness):
    kind = "local"

    def __init__(self, sandbox: bool = False) -> None:
        self.executor = LocalExecutor(grace=GRACE, sandbox="always" if sandbox else "opt-in")
        if sandbox:
            self.kind = "local+sandbox"

    def step(
        self,
        step_id: str = "s",
        *,
        logs: Iterable[tuple[Stream, str]] = (),
        exit_code: int = 0,
        seconds: float = 0.0,
        hang: bool = False,
        timeout: float | None = None,
    ) -> Step:
        lines = [f"echo {shlex.quote(text)}" + (" >&2" if s == "stderr" else "") for s, text in logs]
        if hang:
            lines.append("sleep 300")
        elif seconds:
            lines.append(f"sleep {seconds}")
        lines.append(f"exit {exit_code}")
        return make_step(lines, step_id, timeout)


class DockerHarness(LocalHarness):
    """The local harness's shell steps, in the busybox test image (``tests/docker_support.py``)."""

    kind = "docker"

    def __init__(self, base_url: str, image: str) -> None:
        from reefline.executors.docker import DockerExecutor

        self.executor = DockerExecutor(base_url=base_url, grace=GRACE)
        self.image = image

    def step(
        self,
        step_id: str = "s",
        *,
        logs: Iterable[tuple[Stream, str]] = (),
        exit_code: int = 0,
        seconds: float = 0.0,
        hang: bool = False,
        timeout: float | None = None,
    ) -> Step:
        shell = super().step(
            step_id, logs=logs, exit_code=exit_code, seconds=seconds, hang=hang, timeout=timeout
        )
        return replace(shell, executor="docker", image=ImageRef(self.image, "never"))


class FakeHarness(Harness):
    kind = "fake"

    def __init__(self) -> None:
        self.executor = self.fake = FakeExecutor()

    def step(
        self,
        step_id: str = "s",
        *,
        logs: Iterable[tuple[Stream, str]] = (),
        exit_code: int = 0,
        seconds: float = 0.0,
        hang: bool = False,
        timeout: float | None = None,
    ) -> Step:
        self.fake.set(step_id, Behavior(seconds=seconds, exit_code=exit_code, logs=tuple(logs), hangs=hang))
        return make_step(["true"], step_id, timeout)


def context(workspace: Path, env: dict[str, str] | None = None) -> StepContext:
    return StepContext(run_id=1, attempt=1, workspace=workspace, env=dict(os.environ) if env is None else env)


def leftovers(marker: str, session: int | None = None, settle: float = 1.0) -> list[psutil.Process]:
    """Live (non-zombie) processes carrying ``REEFLINE_TEST_MARKER=marker`` or in ``session``.

    Waits up to ``settle`` seconds for SIGKILLed processes to disappear.
    """
    deadline = time.monotonic() + settle
    while True:
        found = []
        for p in psutil.process_iter():
            try:
                if p.status() == psutil.STATUS_ZOMBIE:
                    continue  # killed; reaping orphans is PID 1's job
                if (session is not None and os.getsid(p.pid) == session) or p.environ().get(
                    "REEFLINE_TEST_MARKER"
                ) == marker:
                    found.append(p)
            except (psutil.Error, OSError):
                continue
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def kill_all(processes: Iterable[psutil.Process]) -> None:
    for p in processes:
        with contextlib.suppress(psutil.Error):
            p.kill()
