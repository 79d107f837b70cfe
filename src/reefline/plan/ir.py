"""The plan: frozen steps with everything resolved, ready for any executor."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class When(StrEnum):
    ON_SUCCESS = "on_success"
    ON_FAILURE = "on_failure"
    ALWAYS = "always"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max: int = 0
    delay: float = 0.0
    backoff: float = 2.0

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before attempt number ``attempt`` (1-based; attempt 1 never waits)."""
        if attempt <= 1:
            return 0.0
        return self.delay * self.backoff ** (attempt - 2)


@dataclass(frozen=True, slots=True)
class ShellCommand:
    """Script lines run in one bash session that stops at the first failing line."""

    lines: tuple[str, ...]

    def argv(self) -> list[str]:
        return ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", "\n".join(self.lines)]


@dataclass(frozen=True, slots=True)
class PythonCommand:
    """A ``module:function`` entry point; see :mod:`reefline.executors.entrypoint`."""

    entry: str


Command = ShellCommand | PythonCommand


@dataclass(frozen=True, slots=True)
class OutputRef:
    """An artifact a step promises to produce, at a workspace-relative path."""

    name: str
    path: str
    type: str


@dataclass(frozen=True, slots=True)
class InputRef:
    """An artifact a step reads. ``producer`` is the step id that makes it, or None for a workspace file.

    An input fed by a matrix job without matching matrix values has one path per expansion.
    """

    name: str
    paths: tuple[str, ...]
    type: str
    producers: tuple[tuple[str, str], ...] = ()  # (step id, output name) per path


@dataclass(frozen=True, slots=True)
class Step:
    """One job (one matrix expansion of it) with everything resolved.

    ``needs`` holds step ids of every direct upstream step: from ``needs``, ``from:`` and stage order.
    ``definition_hash`` covers command, env, inputs/outputs declarations and policies, not contents;
    the engine adds input content hashes and upstream output hashes to make the cache key.
    """

    id: str
    job: str
    stage: str
    command: Command
    env: tuple[tuple[str, str], ...]
    needs: tuple[str, ...]
    inputs: tuple[InputRef, ...] = ()
    outputs: tuple[OutputRef, ...] = ()
    metrics: str | None = None  # name of the output holding metrics JSON
    matrix: tuple[tuple[str, str], ...] = ()
    timeout: float | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    allow_failure: bool = False
    when: When = When.ON_SUCCESS
    skip_reason: str | None = None  # set when `if:` evaluated to false at compile time
    cache: bool = True
    definition_hash: str = ""

    @property
    def cacheable(self) -> bool:
        """Jobs without outputs exist for their effects (tests, deploys) and always run."""
        return self.cache and bool(self.outputs)


@dataclass(frozen=True, slots=True)
class Plan:
    """Steps in a topological order (every step after all of its ``needs``)."""

    pipeline: str
    steps: tuple[Step, ...]
    params: tuple[tuple[str, str | int | float | bool | list[str | int | float | bool]], ...] = ()

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)
