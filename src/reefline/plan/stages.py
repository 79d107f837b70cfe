"""Stage order as barriers: one node per stage instead of an edge per pair of steps.

GitLab semantics: a job without ``needs:`` waits for every job of every earlier stage. With N jobs
in two stages that is N²/4 edges; a barrier per stage makes it O(N): the barrier of a stage waits
for that stage's steps and for the barrier of the stage before it, and a step waits for one barrier.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from reefline.plan.ir import Barrier, Step, stage_label


def previous_stages(stages: Sequence[str], occupied: Iterable[str]) -> dict[str, str | None]:
    """For each stage, the nearest earlier stage that has steps (None for the first ones)."""
    has_steps = set(occupied)
    previous: dict[str, str | None] = {}
    last: str | None = None
    for stage in stages:
        previous[stage] = last
        if stage in has_steps:
            last = stage
    return previous


def build_barriers(
    stages: Sequence[str],
    members: Mapping[str, Sequence[str]],
    previous: Mapping[str, str | None],
    steps: Iterable[Step],
) -> tuple[Barrier, ...]:
    """The barriers some step waits for, directly or through a later barrier, in stage order."""
    needed: set[str] = set()
    for step in steps:
        stage = step.after_stage
        while stage is not None and stage not in needed:
            needed.add(stage)
            stage = previous[stage]
    return tuple(Barrier(s, tuple(members[s]), previous[s]) for s in stages if s in needed)


def barrier_node(stage: str) -> str:
    """The barrier's node name in a dependency graph; never a step id (those have no space)."""
    return stage_label(stage)


def dependency_graph(steps: Iterable[Step], barriers: Iterable[Barrier]) -> dict[str, tuple[str, ...]]:
    """Every step and barrier with what it waits for; barriers first, so ties release them early."""
    graph: dict[str, tuple[str, ...]] = {}
    for barrier in barriers:
        after = () if barrier.after is None else (barrier_node(barrier.after),)
        graph[barrier_node(barrier.stage)] = (*barrier.members, *after)
    for step in steps:
        after = () if step.after_stage is None else (barrier_node(step.after_stage),)
        graph[step.id] = (*step.needs, *after)
    return graph


def restrict(
    steps: Iterable[Step], barriers: Iterable[Barrier], keep: set[str]
) -> tuple[list[tuple[Step, tuple[str, ...], str | None]], tuple[Barrier, ...]]:
    """Drop the steps not in ``keep`` from every dependency: needs, barrier members, barriers left
    empty (whoever waited for one waits for the barrier before it instead).

    Returns (kept step, its needs, its barrier) per kept step, and the barriers still in use.
    """
    redirect: dict[str, str | None] = {}
    kept_barriers: list[Barrier] = []
    for barrier in barriers:  # stage order: an earlier barrier is resolved first
        after = redirect[barrier.after] if barrier.after is not None else None
        members = tuple(m for m in barrier.members if m in keep)
        if members:
            kept_barriers.append(Barrier(barrier.stage, members, after))
            redirect[barrier.stage] = barrier.stage
        else:
            redirect[barrier.stage] = after
    kept = [
        (
            step,
            tuple(n for n in step.needs if n in keep),
            redirect[step.after_stage] if step.after_stage is not None else None,
        )
        for step in steps
        if step.id in keep
    ]
    after_of = {b.stage: b.after for b in kept_barriers}
    used: set[str] = set()
    for _, _, first in kept:
        stage = first
        while stage is not None and stage not in used:
            used.add(stage)
            stage = after_of[stage]
    return kept, tuple(b for b in kept_barriers if b.stage in used)
