"""The plan: frozen steps with everything resolved, ready for any executor."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

PullPolicy = Literal["never", "if-not-present", "always"]
Network = Literal["none", "bridge"]
DEFAULT_EXECUTOR = "local"


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
class ImageRef:
    """A container image by name (``repo/name:tag``) and when to pull it."""

    name: str
    pull: PullPolicy = "if-not-present"


@dataclass(frozen=True, slots=True)
class Resources:
    """Limits for a step; None: the executor's default (no limit)."""

    cpus: float | None = None
    memory_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class Readiness:
    """When a service counts as up: a TCP ``port`` accepts connections, or ``command`` (a shell
    line run inside the service) exits 0; given up after ``timeout`` seconds."""

    port: int | None = None
    command: str | None = None
    timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class Service:
    """A sidecar container started before the step, reachable from it by ``name``."""

    name: str
    image: ImageRef
    env: tuple[tuple[str, str], ...] = ()
    command: tuple[str, ...] | None = None
    """argv (None: the image's own command)."""
    ready: Readiness | None = None


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

    ``needs`` holds the step ids of its explicit upstream steps (from ``needs:`` and ``from:``).
    Stage order is ``after_stage``: the step also waits for the plan's :class:`Barrier` of that
    stage, i.e. for every step of that stage and of every stage before it (GitLab semantics),
    without one edge per pair of steps.
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
    after_stage: str | None = None
    executor: str = DEFAULT_EXECUTOR
    image: ImageRef | None = None
    resources: Resources = field(default_factory=Resources)
    services: tuple[Service, ...] = ()
    network: Network | None = None
    """None: the executor's default (docker: none on a server)."""
    sandbox: bool | None = None
    """None: the executor's default (local: sandboxed on a server, not on a laptop)."""

    @property
    def slug(self) -> str:
        """A stable id for container names and labels: ``[a-z0-9_.-]`` only, unique per step id
        (``train[model=tree]`` → ``train-model-tree-3f2a9c1d``)."""
        return step_slug(self.id)

    def needs_labels(self) -> tuple[str, ...]:
        """What a user is shown as this step's needs: the explicit ones, then ``after stage X``."""
        return self.needs if self.after_stage is None else (*self.needs, stage_label(self.after_stage))

    @property
    def cacheable(self) -> bool:
        """Jobs without outputs exist for their effects (tests, deploys) and always run."""
        return self.cache and bool(self.outputs)


def step_slug(step_id: str) -> str:
    readable = re.sub(r"[^a-z0-9_.-]+", "-", step_id.lower()).strip("-.")[:40] or "step"
    return f"{readable}-{hashlib.sha256(step_id.encode()).hexdigest()[:8]}"


def stage_label(stage: str) -> str:
    """How a stage barrier is shown and stored among a step's needs (no job name has a space)."""
    return f"after stage {stage}"


@dataclass(frozen=True, slots=True)
class Barrier:
    """Stage order in O(steps) edges: done when every step of ``stage`` is done and so is the
    barrier ``after`` (the one of the nearest earlier stage that has steps), so a step waiting for
    it waits for every step of ``stage`` and of every stage before it."""

    stage: str
    members: tuple[str, ...]
    after: str | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """Steps in a topological order (every step after all of its ``needs`` and its barrier).

    ``barriers`` come in stage order, each after the one it waits for.
    """

    pipeline: str
    steps: tuple[Step, ...]
    params: tuple[tuple[str, str | int | float | bool | list[str | int | float | bool]], ...] = ()
    barriers: tuple[Barrier, ...] = ()
    _index: dict[str, Step] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {s.id: s for s in self.steps})

    def step(self, step_id: str) -> Step:
        return self._index[step_id]

    def barrier(self, stage: str) -> Barrier:
        return next(b for b in self.barriers if b.stage == stage)

    def upstream(self, step_id: str) -> tuple[str, ...]:
        """Every step ``step_id`` waits for, barriers unfolded (O(steps): for tests and display)."""
        step = self.step(step_id)
        found: dict[str, None] = dict.fromkeys(step.needs)
        barriers = {b.stage: b for b in self.barriers}
        stage = step.after_stage
        chain: list[Barrier] = []
        while stage is not None:
            chain.append(barriers[stage])
            stage = barriers[stage].after
        for barrier in reversed(chain):
            found.update(dict.fromkeys(barrier.members))
        return tuple(found)
