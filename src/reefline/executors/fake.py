"""The fault-injecting fake executor for tests: no processes, scripted behaviours per step.

Engine tests configure what each step does and then assert on what the engine asked for::

    fake = FakeExecutor(
        {"train": Behavior.flaky(fail_first=2), "deploy": Behavior.start_fails("no docker")},
        default=Behavior.succeed(seconds=0.01, logs=["hello", ("stderr", "warn")]),
    )
    ...
    assert fake.attempts("train") == 3
    assert fake.max_concurrency <= 2

It keeps the protocol's promises like the real executors do (cancel from any thread, timeouts from
``step.timeout``, idempotent destroy), so the shared contract suite runs against it too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from reefline.executors.base import LogSink, StartError, StepContext, StepHandle, StepResult, Stream
from reefline.plan.ir import Step

TERMINATED_EXIT_CODE = 128 + 15  # what a shell killed by SIGTERM reports
LogLine = str | tuple[Stream, str]
Operation = Literal["start", "start_error", "wait", "cancel", "destroy"]
FaultPoint = Literal["start", "wait", "cancel", "destroy", "log"]


@dataclass(frozen=True, slots=True)
class Behavior:
    """What a step does. ``seconds`` run time (``hangs``: until canceled or timed out); attempts
    ``1..fail_attempts`` end with ``fail_exit_code``, later ones with ``exit_code``; ``files``
    (workspace-relative path → content) are written when the step ends by itself; ``action`` runs
    then too, in the waiting thread."""

    seconds: float = 0.0
    exit_code: int = 0
    logs: tuple[tuple[Stream, str], ...] = ()
    fail_attempts: int = 0
    fail_exit_code: int = 1
    hangs: bool = False
    start_error: str | None = None
    files: tuple[tuple[str, bytes], ...] = ()
    action: Callable[[Step, StepContext], None] | None = None
    raises_in: FaultPoint | None = None
    """Where this step's executor call raises :class:`InjectedFault` (a bug, not a step failure)."""

    @classmethod
    def succeed(
        cls,
        seconds: float = 0.0,
        logs: Iterable[LogLine] = (),
        files: Mapping[str, bytes | str] | None = None,
        action: Callable[[Step, StepContext], None] | None = None,
    ) -> Behavior:
        return cls(seconds=seconds, logs=_logs(logs), files=_files(files), action=action)

    @classmethod
    def fail(cls, exit_code: int = 1, seconds: float = 0.0, logs: Iterable[LogLine] = ()) -> Behavior:
        return cls(seconds=seconds, exit_code=exit_code, logs=_logs(logs))

    @classmethod
    def flaky(
        cls,
        fail_first: int,
        exit_code: int = 1,
        seconds: float = 0.0,
        logs: Iterable[LogLine] = (),
        files: Mapping[str, bytes | str] | None = None,
    ) -> Behavior:
        """Attempts 1..``fail_first`` fail with ``exit_code``; the next one succeeds."""
        return cls(
            seconds=seconds,
            logs=_logs(logs),
            fail_attempts=fail_first,
            fail_exit_code=exit_code,
            files=_files(files),
        )

    @classmethod
    def hang(cls, logs: Iterable[LogLine] = ()) -> Behavior:
        """Runs until canceled, or until ``step.timeout`` (then it times out)."""
        return cls(hangs=True, logs=_logs(logs))

    @classmethod
    def start_fails(cls, message: str = "fake start error") -> Behavior:
        return cls(start_error=message)

    @classmethod
    def raises(cls, where: FaultPoint, *, hangs: bool = False) -> Behavior:
        """The executor itself breaks at ``where``: ``start``, ``wait``, ``cancel``, ``destroy`` or
        ``log`` (the engine's log sink raises on the step's first line)."""
        return cls(raises_in=where, hangs=hangs, logs=(("stdout", "a line"),) if where == "log" else ())


class InjectedFault(RuntimeError):
    """Raised by a :class:`Behavior` with ``raises_in``."""


@dataclass(eq=False)
class FakeHandle:
    step: Step
    ctx: StepContext
    log: LogSink
    behavior: Behavior
    started_at: float
    canceled: threading.Event = field(default_factory=threading.Event)
    running: bool = True  # counted in FakeExecutor.running
    result: StepResult | None = None
    destroyed: bool = False


class FakeExecutor:
    """Scripted executor. ``behaviors`` by step id, else ``default``. Thread-safe.

    Records every call in ``calls`` as ``(operation, step id, attempt)`` in call order, and the
    highest number of steps between ``start`` and the end of ``wait`` in ``max_concurrency``.
    """

    name: ClassVar[str] = "fake"
    supports_cancel: ClassVar[bool] = True
    supports_timeout: ClassVar[bool] = True

    def __init__(
        self, behaviors: Mapping[str, Behavior] | None = None, default: Behavior | None = None
    ) -> None:
        self.behaviors: dict[str, Behavior] = dict(behaviors or {})
        self.default = default if default is not None else Behavior()
        self.calls: list[tuple[Operation, str, int]] = []
        self.running = 0
        self.max_concurrency = 0
        self._lock = threading.Lock()

    def set(self, step_id: str, behavior: Behavior) -> None:
        with self._lock:
            self.behaviors[step_id] = behavior

    def attempts(self, step_id: str) -> int:
        """How many times ``start`` was called for the step (also failed starts)."""
        with self._lock:
            return sum(1 for op, sid, _ in self.calls if sid == step_id and op in ("start", "start_error"))

    def operations(self, step_id: str) -> list[Operation]:
        with self._lock:
            return [op for op, sid, _ in self.calls if sid == step_id]

    # -- protocol -------------------------------------------------------------------------------

    def start(self, step: Step, ctx: StepContext, log: LogSink) -> FakeHandle:
        with self._lock:
            behavior = self.behaviors.get(step.id, self.default)
            if behavior.raises_in == "start":
                self.calls.append(("start_error", step.id, ctx.attempt))
                raise InjectedFault(f"injected fault in start of {step.id}")
            if behavior.start_error is not None:
                self.calls.append(("start_error", step.id, ctx.attempt))
                raise StartError(f"step {step.id}: {behavior.start_error}")
            if not ctx.workspace.is_dir():
                self.calls.append(("start_error", step.id, ctx.attempt))
                raise StartError(f"step {step.id}: workspace {ctx.workspace} does not exist")
            self.calls.append(("start", step.id, ctx.attempt))
            self.running += 1
            self.max_concurrency = max(self.max_concurrency, self.running)
        return FakeHandle(step, ctx, log, behavior, time.time())

    def wait(self, handle: StepHandle) -> StepResult:
        h = _own(handle)
        if h.result is not None:
            return h.result
        self._record("wait", h)
        b, step = h.behavior, h.step
        try:
            if b.raises_in == "wait":
                raise InjectedFault(f"injected fault in wait of {step.id}")
            for stream, line in b.logs:
                if b.raises_in == "log":
                    raise InjectedFault(f"injected fault in the log sink of {step.id}")
                h.log(stream, time.time(), line)
            run_for = None if b.hangs else b.seconds
            timed_out = step.timeout is not None and (run_for is None or run_for > step.timeout)
            if timed_out:
                run_for = step.timeout
            canceled = h.canceled.wait(run_for)
            error: str | None = None
            if canceled:
                exit_code, error = TERMINATED_EXIT_CODE, "canceled"
            elif timed_out:
                exit_code, error = TERMINATED_EXIT_CODE, f"timed out after {step.timeout:g}s"
            else:
                failing = h.ctx.attempt <= b.fail_attempts
                exit_code = b.fail_exit_code if failing else b.exit_code
                if exit_code != 0:
                    error = f"exited with code {exit_code}"
                self._finish_effects(h)
            h.result = StepResult(
                exit_code=exit_code,
                started_at=h.started_at,
                finished_at=time.time(),
                error=error,
                timed_out=timed_out and not canceled,
                canceled=canceled,
            )
            return h.result
        finally:
            self._stop_running(h)

    def cancel(self, handle: StepHandle, grace: float | None = None) -> None:
        h = _own(handle)
        self._record("cancel", h)
        if h.behavior.raises_in == "cancel":
            raise InjectedFault(f"injected fault in cancel of {h.step.id}")
        h.canceled.set()

    def destroy(self, handle: StepHandle) -> None:
        h = _own(handle)
        self._record("destroy", h)
        h.destroyed = True
        h.canceled.set()  # a wait still running in another thread ends
        self._stop_running(h)
        if h.behavior.raises_in == "destroy":
            raise InjectedFault(f"injected fault in destroy of {h.step.id}")

    # -- internals ------------------------------------------------------------------------------

    def _finish_effects(self, h: FakeHandle) -> None:
        for rel, content in h.behavior.files:
            path = h.ctx.workspace / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        if h.behavior.action is not None:
            h.behavior.action(h.step, h.ctx)

    def _record(self, op: Operation, h: FakeHandle) -> None:
        with self._lock:
            self.calls.append((op, h.step.id, h.ctx.attempt))

    def _stop_running(self, h: FakeHandle) -> None:
        with self._lock:
            if h.running:
                h.running = False
                self.running -= 1


def _own(handle: StepHandle) -> FakeHandle:
    if not isinstance(handle, FakeHandle):
        raise TypeError(f"not a FakeExecutor handle: {handle!r}")
    return handle


def _logs(lines: Iterable[LogLine]) -> tuple[tuple[Stream, str], ...]:
    return tuple(("stdout", line) if isinstance(line, str) else line for line in lines)


def _files(files: Mapping[str, bytes | str] | None) -> tuple[tuple[str, bytes], ...]:
    return tuple((p, c.encode() if isinstance(c, str) else c) for p, c in (files or {}).items())
