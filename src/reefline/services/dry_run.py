"""What `run --dry-run` shows for each step: cached, would run, or skipped. Linear in the plan."""

from __future__ import annotations

from collections.abc import Callable

from reefline.artifacts.base import ArtifactStore
from reefline.artifacts.hashing import Hasher
from reefline.engine import cache
from reefline.engine.barriers import StageOutputs
from reefline.plan.ir import OutputRef, Plan, Step

ImageIds = Callable[[Step], str | None]
"""The content id of a step's image as it is now (None: none there); looks, never pulls."""

CACHED = "cached"
WOULD_RUN = "would run"


def planned_statuses(
    plan: Plan,
    hasher: Hasher,
    lookup: cache.CacheLookup | None,
    store: ArtifactStore,
    image_ids: ImageIds | None = None,
) -> dict[str, str]:
    """A step is cached when its key matches an earlier success with intact (or restorable) outputs
    and everything upstream of it is cached too, its stage barrier included; else it would run
    (its upstream outputs may change). Each barrier is judged and hashed once, not per dependent."""
    statuses: dict[str, str] = {}
    barriers = {b.stage: b for b in plan.barriers}
    stages: dict[str, tuple[bool, StageOutputs]] = {}

    def stage(name: str) -> tuple[bool, StageOutputs]:
        if name not in stages:  # its members come earlier in the plan's order: already judged
            barrier = barriers[name]
            before = stage(barrier.after) if barrier.after is not None else None
            cached = (before is None or before[0]) and all(statuses[m] == CACHED for m in barrier.members)
            produced = [(m, out) for m in barrier.members for out in plan.step(m).outputs]
            stages[name] = (cached, StageOutputs(name, produced, before[1] if before else None))
        return stages[name]

    for step in plan.steps:
        if step.skip_reason:
            statuses[step.id] = f"skipped: {step.skip_reason}"
            continue
        if lookup is None or not step.cacheable:
            statuses[step.id] = WOULD_RUN
            continue
        upstream: dict[str, tuple[OutputRef, ...]] = {}
        upstream_cached = all(statuses[up] == CACHED for up in step.needs)
        if step.after_stage is not None:
            stage_cached, outputs = stage(step.after_stage)
            upstream_cached = upstream_cached and stage_cached
            upstream[outputs.key] = outputs
        if not upstream_cached:
            statuses[step.id] = WOULD_RUN
            continue
        upstream.update({up: plan.step(up).outputs for up in step.needs})
        image_id = image_ids(step) if image_ids is not None and step.image is not None else None
        if step.image is not None and image_id is None:  # no image to hash: it cannot be a hit
            statuses[step.id] = WOULD_RUN
            continue
        prepared = cache.prepare(step, hasher, upstream, lookup, store, dry_run=True, image_id=image_id)
        statuses[step.id] = CACHED if prepared.hit is not None else WOULD_RUN
    return statuses
