"""Stage barriers at run time: O(steps) bookkeeping for GitLab stage order.

A barrier counts its open members (and the barrier before it). When the count reaches zero it folds
its members' outcomes into one :class:`StageOutcome` (for ``decide``) and one
:class:`StageOutputs` (for the cache key), and releases the steps waiting for it. Only the engine
thread calls :class:`StageBarriers`; :class:`StageOutputs` is hashed from the hasher threads.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from reefline.artifacts.hashing import ArtifactError, Hasher
from reefline.engine.decide import StageOutcome, Upstream, fold_stage
from reefline.plan.ir import Barrier, OutputRef, Plan, stage_label


class StageOutputs(tuple[OutputRef, ...]):
    """The outputs of the steps before a stage barrier, hashed ONCE for all the steps waiting for it.

    A tuple of this stage's members' outputs (so it passes where upstream outputs do), plus the
    barrier before it: :meth:`digest` covers every earlier stage, one digest per barrier instead of
    one part per upstream step in every dependent's cache key.
    """

    produced: tuple[tuple[str, OutputRef], ...]
    before: StageOutputs | None
    stage: str
    _lock: threading.Lock
    _digest: str | None

    def __new__(
        cls, stage: str, produced: Sequence[tuple[str, OutputRef]], before: StageOutputs | None
    ) -> StageOutputs:
        self = super().__new__(cls, (out for _, out in produced))
        self.stage = stage
        self.produced = tuple(produced)
        self.before = before
        self._lock = threading.Lock()
        self._digest = None
        return self

    @property
    def key(self) -> str:
        """Its name among a step's upstream outputs (never a step id: those have no space)."""
        return stage_label(self.stage)

    def digest(self, hasher: Hasher) -> str:
        """sha256 over the barrier before (its digest) and each member's outputs; thread-safe, memoized."""
        with self._lock:
            if self._digest is None:
                parts: list[object] = [self.stage, self.before.digest(hasher) if self.before else None]
                parts.extend((sid, out.name, _sha_or_missing(hasher, out.path)) for sid, out in self.produced)
                self._digest = hashlib.sha256(json.dumps(parts).encode()).hexdigest()
            return self._digest


def _sha_or_missing(hasher: Hasher, path: str) -> str:
    try:
        return hasher.digest(path).sha256
    except ArtifactError:
        return "missing"


@dataclass
class _Open:
    barrier: Barrier
    waiting: int = 0
    dependents: list[str] = field(default_factory=list)  # step ids
    later: list[str] = field(default_factory=list)  # stages whose barrier waits for this one
    outcome: StageOutcome | None = None
    outputs: StageOutputs | None = None


UpstreamOf = Callable[[str], Upstream]


class StageBarriers:
    """The barriers of one run. ``upstream_of(step id)`` gives a finished member's outcome."""

    def __init__(self, plan: Plan, upstream_of: UpstreamOf) -> None:
        self._upstream_of = upstream_of
        self._steps = {s.id: s for s in plan.steps}
        self._barriers = {b.stage: _Open(b) for b in plan.barriers}
        self._member_of = {sid: b.stage for b in plan.barriers for sid in b.members}
        for b in plan.barriers:
            if b.after is not None:
                self._barriers[b.after].later.append(b.stage)
        for step in plan.steps:
            if step.after_stage is not None:
                self._barriers[step.after_stage].dependents.append(step.id)

    def begin(self, is_open: Callable[[str], bool]) -> None:
        """Count open members (a retried run starts with some finished); close what is complete."""
        for stage, state in self._barriers.items():  # stage order: `after` is counted first
            after = state.barrier.after
            state.waiting = sum(1 for m in state.barrier.members if is_open(m))
            state.waiting += 1 if after is not None and self._barriers[after].outcome is None else 0
            if state.waiting == 0:
                self._close(stage)

    def closed(self, stage: str) -> bool:
        return self._barriers[stage].outcome is not None

    def outcome(self, stage: str) -> StageOutcome:
        outcome = self._barriers[stage].outcome
        assert outcome is not None, f"barrier {stage!r} is still open"
        return outcome

    def outputs(self, stage: str) -> StageOutputs:
        outputs = self._barriers[stage].outputs
        assert outputs is not None, f"barrier {stage!r} is still open"
        return outputs

    def finished(self, step_id: str) -> list[str]:
        """A member reached a terminal state: the step ids released by every barrier that closed."""
        stage = self._member_of.get(step_id)
        if stage is None:
            return []
        return self._count_down(stage)

    def _count_down(self, stage: str) -> list[str]:
        state = self._barriers[stage]
        state.waiting -= 1
        if state.waiting:
            return []
        released = self._close(stage)
        for later in state.later:
            released.extend(self._count_down(later))
        return released

    def _close(self, stage: str) -> list[str]:
        state = self._barriers[stage]
        before = state.barrier.after
        prior = self._barriers[before] if before is not None else None
        members = state.barrier.members
        state.outcome = fold_stage(
            prior.outcome if prior else None, ((m, self._upstream_of(m)) for m in members)
        )
        produced = [(m, out) for m in members for out in self._steps[m].outputs]
        state.outputs = StageOutputs(stage, produced, prior.outputs if prior else None)
        return list(state.dependents)
