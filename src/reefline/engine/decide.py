"""What happens to a step once every step it needs has finished. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from reefline.engine.states import JobState
from reefline.plan.ir import Step, When


@dataclass(frozen=True, slots=True)
class Upstream:
    """The outcome of one finished upstream step, as far as its dependents care."""

    state: JobState
    allow_failure: bool
    failure_seen: bool  # it or anything upstream of it failed (not allowed to)
    when: When = When.ON_SUCCESS

    @property
    def failed(self) -> bool:
        # An interrupted job (its engine died and no retry was left) counts as a failure.
        return self.state in (JobState.FAILED, JobState.INTERRUPTED) and not self.allow_failure


@dataclass(frozen=True, slots=True)
class StageOutcome:
    """Every step before a stage barrier, folded into what its dependents care about: whether any
    failed (or saw a failure), and the first one that holds back an ``on_success`` step."""

    failure_seen: bool = False
    blocker: tuple[str, Upstream] | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    run: bool
    reason: str | None = None


def holds_back(name: str, up: Upstream) -> str | None:
    """Why a finished upstream step keeps an ``on_success`` step from running, or None."""
    if up.failed:
        what = "was interrupted" if up.state is JobState.INTERRUPTED else "failed"
        return f"upstream job {name!r} {what}"
    if up.state is JobState.CANCELED:
        return f"upstream job {name!r} was canceled"
    # A failure handler that had nothing to handle does not hold back what comes after it.
    if up.state is JobState.SKIPPED and up.when is not When.ON_FAILURE:
        return f"upstream job {name!r} was skipped"
    return None


def fold_stage(before: StageOutcome | None, members: Iterable[tuple[str, Upstream]]) -> StageOutcome:
    """The outcome of a barrier: that of the barrier ``before`` it, then its members in order."""
    failure_seen = before.failure_seen if before else False
    blocker = before.blocker if before else None
    for name, up in members:
        failure_seen = failure_seen or up.failed or up.failure_seen
        if blocker is None and holds_back(name, up):
            blocker = (name, up)
    return StageOutcome(failure_seen, blocker)


def decide(step: Step, upstream: Mapping[str, Upstream], stage: StageOutcome | None = None) -> Decision:
    """GitLab semantics: ``on_success`` needs every upstream to have succeeded (an allowed failure
    counts), ``on_failure`` runs only when something upstream failed, ``always`` runs anyway.

    ``upstream`` holds the explicit needs; ``stage`` the folded outcome of the stage barrier the
    step waits for (every step of the earlier stages), if any.
    """
    if step.skip_reason:
        return Decision(False, step.skip_reason)
    failure_seen = saw_failure(upstream, stage)
    if step.when is When.ALWAYS:
        return Decision(True)
    if step.when is When.ON_FAILURE:
        return Decision(True) if failure_seen else Decision(False, "when: on_failure and nothing failed")
    if stage is not None and stage.blocker is not None:
        return Decision(False, holds_back(*stage.blocker))
    for name, up in upstream.items():
        reason = holds_back(name, up)
        if reason:
            return Decision(False, reason)
    return Decision(True)


def saw_failure(upstream: Mapping[str, Upstream], stage: StageOutcome | None = None) -> bool:
    """Whether anything upstream (explicit or through the barrier) failed without being allowed to."""
    return any(u.failed or u.failure_seen for u in upstream.values()) or bool(stage and stage.failure_seen)
