"""Narrow a plan to the steps a user asked for (``--only``, ``--from``)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import replace

from reefline.plan.errors import PlanError
from reefline.plan.graph import downstream_closure
from reefline.plan.ir import Plan
from reefline.plan.stages import dependency_graph, restrict

MAX_LISTED = 50


def _resolve(plan: Plan, name: str, flag: str) -> set[str]:
    """A job name matches all of its matrix expansions; a step id matches itself."""
    found = {s.id for s in plan.steps if name in (s.id, s.job)}
    if not found:
        jobs = sorted({s.job for s in plan.steps})
        close = difflib.get_close_matches(name, jobs, n=1)
        if not close and len(plan.steps) <= MAX_LISTED:  # a 20,000-step id list is no hint
            close = difflib.get_close_matches(name, [s.id for s in plan.steps], n=1)
        listed = ", ".join(jobs[:MAX_LISTED]) + (
            f" and {len(jobs) - MAX_LISTED} more" if len(jobs) > MAX_LISTED else ""
        )
        hint = f"; did you mean {close[0]!r}?" if close else f"; jobs are: {listed}"
        raise PlanError(f"unknown job {name!r} in {flag}{hint}")
    return found


def select(plan: Plan, *, only: Iterable[str] = (), from_job: str | None = None) -> Plan:
    """Keep the chosen steps; dependencies on dropped steps are removed (also from stage barriers).

    Inputs that dropped steps would have produced must already be in the workspace; the engine
    checks that when the step starts, like make does for a target's prerequisites.
    """
    keep = {s.id for s in plan.steps}
    only = list(only)
    if only:
        keep = set().union(*(_resolve(plan, name, "--only") for name in only))
    if from_job is not None:
        roots = _resolve(plan, from_job, "--from")
        keep &= downstream_closure(dependency_graph(plan.steps, plan.barriers), roots)
    if len(keep) == len(plan.steps):
        return plan
    kept, barriers = restrict(plan.steps, plan.barriers, keep)
    steps = tuple(replace(s, needs=needs, after_stage=after) for s, needs, after in kept)
    return replace(plan, steps=steps, barriers=barriers)
