"""What happens to a step once every step it needs has finished. Pure."""

from __future__ import annotations

from collections.abc import Mapping
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
        return self.state is JobState.FAILED and not self.allow_failure


@dataclass(frozen=True, slots=True)
class Decision:
    run: bool
    reason: str | None = None


def decide(step: Step, upstream: Mapping[str, Upstream]) -> Decision:
    """GitLab semantics: ``on_success`` needs every upstream to have succeeded (an allowed failure
    counts), ``on_failure`` runs only when something upstream failed, ``always`` runs anyway."""
    if step.skip_reason:
        return Decision(False, step.skip_reason)
    failure_seen = any(u.failed or u.failure_seen for u in upstream.values())
    if step.when is When.ALWAYS:
        return Decision(True)
    if step.when is When.ON_FAILURE:
        return Decision(True) if failure_seen else Decision(False, "when: on_failure and nothing failed")
    for name, up in upstream.items():
        if up.failed:
            return Decision(False, f"upstream job {name!r} failed")
        if up.state is JobState.CANCELED:
            return Decision(False, f"upstream job {name!r} was canceled")
        # A failure handler that had nothing to handle does not hold back what comes after it.
        if up.state is JobState.SKIPPED and up.when is not When.ON_FAILURE:
            return Decision(False, f"upstream job {name!r} was skipped")
    return Decision(True)
