"""The executor protocol: the only thing the engine knows about where a step runs.

Call order for one attempt, from one engine worker thread::

    handle = executor.start(step, ctx, log)   # may raise StartError; the step did not run
    result = executor.wait(handle)            # blocks; calls `log` for each line meanwhile
    executor.destroy(handle)                  # always, also after a failed wait

``cancel(handle)`` may be called from any thread at any time after ``start`` returned, also
more than once and after the step ended (then it does nothing): it asks the step to stop
(SIGTERM to the process tree) without waiting, and kills it after ``grace`` seconds (``None``: the
executor's configured default). ``wait`` then returns a result with ``canceled=True``.
``destroy`` is idempotent and leaves no process or temporary file of the attempt behind; it is
also safe without a preceding ``wait`` (the step is killed).

Optional, around the attempts of one run (an executor without them needs nothing; call them
through :func:`setup_run`, :func:`teardown_run`, :func:`resolve_image` and :func:`reattach`)::

    executor.setup_run(run)        # once, before the run's first attempt on this executor
    ...attempts...
    executor.teardown_run(run)     # once, after the last one ended, also after a failure

``setup_run`` prepares what the run's steps share (the docker executor: a network of the run, and
the removal of what a killed Reefline left behind); ``teardown_run`` removes it and is idempotent.
``resolve_image(step)`` returns the content id of the image the step would run in (applying the
step's pull policy) or raises :class:`StartError` naming the image; the engine folds the id into the
cache key and passes it on as ``StepContext.image_id``, so the attempt runs exactly what was hashed.
``reattach(step, ctx, log)`` finds the attempt ``ctx.attempt`` of ``step`` still running after a
restart of the engine and returns a handle to ``wait`` on (its new lines go to ``log``), or None.

``log`` is called from the thread that runs ``wait`` (executors start no thread of their own for
it), in the order the lines were read. An exception raised by ``log`` propagates out of ``wait``;
the engine must still call ``destroy``.

Executors see only :mod:`reefline.plan` types and the :class:`StepContext` the engine gives them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal, Protocol

from reefline.plan.ir import Step

Stream = Literal["stdout", "stderr", "system"]
LogSink = Callable[[Stream, float, str], None]
"""Receives (stream, unix timestamp, line without newline). Called from executor threads."""


@dataclass(frozen=True, slots=True)
class StepContext:
    """Everything about one attempt that is not in the step itself."""

    run_id: int
    attempt: int
    workspace: Path
    env: Mapping[str, str]
    """The full environment of the attempt (the executor adds nothing but PATH-like basics)."""
    job_env: Mapping[str, str] | None = None
    """The job's own part of ``env`` (its env, secrets, ``REEFLINE_*``), without the engine
    process's environment: what a container gets. None: the same as ``env``."""
    image_id: str | None = None
    """The content id :func:`resolve_image` gave for the step's image, when the engine asked."""


@dataclass(frozen=True, slots=True)
class RunContext:
    """A run as :func:`setup_run` and :func:`teardown_run` see it: the steps it has on the executor."""

    run_id: int
    workspace: Path
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class StepResult:
    exit_code: int | None
    started_at: float
    finished_at: float
    error: str | None = None
    """Human reason when the step did not end by itself with exit code 0."""
    timed_out: bool = False
    canceled: bool = False
    cpu_seconds: float | None = None
    peak_rss_bytes: int | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and not self.canceled


class StartError(Exception):
    """The step could not be started (missing interpreter, bad workspace); it never ran."""


class StepHandle(Protocol):
    """Opaque to the engine; each executor defines its own."""


class Executor(Protocol):
    name: ClassVar[str]
    supports_cancel: ClassVar[bool]
    supports_timeout: ClassVar[bool]

    def start(self, step: Step, ctx: StepContext, log: LogSink) -> StepHandle: ...

    def wait(self, handle: StepHandle) -> StepResult: ...

    def cancel(self, handle: StepHandle, grace: float | None = None) -> None: ...

    def destroy(self, handle: StepHandle) -> None: ...


def setup_run(executor: Executor, run: RunContext) -> None:
    hook = getattr(executor, "setup_run", None)
    if hook is not None:
        hook(run)


def teardown_run(executor: Executor, run: RunContext) -> None:
    hook = getattr(executor, "teardown_run", None)
    if hook is not None:
        hook(run)


def resolve_image(executor: Executor, step: Step) -> str | None:
    """The content id of ``step``'s image, or None when the executor runs no images."""
    hook: Callable[[Step], str | None] | None = getattr(executor, "resolve_image", None)
    return hook(step) if hook is not None and step.image is not None else None


def reattach(executor: Executor, step: Step, ctx: StepContext, log: LogSink) -> StepHandle | None:
    hook: Callable[[Step, StepContext, LogSink], StepHandle | None] | None = getattr(
        executor, "reattach", None
    )
    return hook(step, ctx, log) if hook is not None else None
