"""Cache keys and the work done around a step off the engine thread: hashing inputs and outputs.

A key covers the step's definition hash, the content of its inputs, the outputs of every step it
depends on (its needs and from: edges, and one digest for all the steps of the earlier stages), so a
change upstream re-runs it even without declared inputs, and, for a
Python entry point, the source file of its module.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reefline.artifacts.base import ArtifactStore
from reefline.artifacts.hashing import ArtifactError, Digest, Hasher, resolve_inside
from reefline.engine import code_deps
from reefline.engine.barriers import StageOutputs
from reefline.engine.fingerprint import module_digests
from reefline.engine.metrics import MetricsError, read_metrics
from reefline.plan.ir import OutputRef, PythonCommand, Step


@dataclass(frozen=True, slots=True)
class ArtifactRecord:
    name: str
    path: str
    type: str
    sha256: str
    size: int
    producer: str | None = None  # step id
    uri: str | None = None  # an output: where the artifact store keeps it (None: not kept)


@dataclass(frozen=True, slots=True)
class CacheHit:
    job_id: int
    outputs: list[ArtifactRecord]
    attempt: int = 1  # the attempt of job_id that made the outputs


@dataclass(frozen=True, slots=True)
class Prepared:
    key: str
    inputs: list[ArtifactRecord]
    hit: CacheHit | None = None
    error: str | None = None
    restored: bool = False  # the hit's outputs were brought back from the artifact store
    details: tuple[str, ...] = ()  # with an error: lines for the job's log (a traceback)
    image_id: str | None = None  # the content id of the step's image that went into the key


CacheLookup = Callable[[str], CacheHit | None]


def module_file(workspace: Path, entry: str) -> str | None:
    """The workspace file of an entry's module (``pkg.mod:fn`` → ``pkg/mod.py``), if it is one."""
    return code_deps.module_file(workspace, entry.split(":", 1)[0])


def prepare(
    step: Step,
    hasher: Hasher,
    upstream_outputs: Mapping[str, tuple[OutputRef, ...]],
    lookup: CacheLookup | None,
    store: ArtifactStore | None = None,
    *,
    dry_run: bool = False,
    image_id: str | None = None,
) -> Prepared:
    """Hash inputs, build the key, and find a reusable earlier result whose outputs are intact,
    or can be made intact again from the artifact store (``dry_run``: only check that they can).
    ``image_id``: the content id of the step's image, so a rebuilt image under the same tag is a
    new key."""
    inputs: list[ArtifactRecord] = []
    parts: list[tuple[str, ...]] = [("definition", step.definition_hash)]
    if image_id is not None:
        parts.append(("image", image_id))
    try:
        for ref in step.inputs:
            producers: list[str | None] = [p for p, _ in ref.producers] or [None] * len(ref.paths)
            for path, producer in zip(ref.paths, producers, strict=True):
                digest = _input_digest(hasher, ref.name, path, producer)
                inputs.append(ArtifactRecord(ref.name, path, ref.type, digest.sha256, digest.size, producer))
                parts.append(("input", ref.name, path, digest.sha256))
        for up_id, outs in sorted(upstream_outputs.items()):
            if isinstance(outs, StageOutputs):  # every step of the earlier stages: one digest
                parts.append(("stage", up_id, outs.digest(hasher)))
                continue
            for out in outs:
                parts.append(("upstream", up_id, out.name, _optional_sha(hasher, out.path)))
        if isinstance(step.command, PythonCommand):
            for code, sha in module_digests(hasher, step.command.entry).items():
                parts.append(("code", code, sha))
    except ArtifactError as exc:
        return Prepared("", inputs, error=str(exc))
    key = hashlib.sha256(json.dumps(parts).encode()).hexdigest()
    if lookup is None or not step.cacheable:
        return Prepared(key, inputs)
    hit = lookup(key)
    if hit is None:
        return Prepared(key, inputs)
    if _intact(hasher, hit.outputs):
        return Prepared(key, inputs, hit)
    if (
        store is not None
        and all(store.has(out.sha256) for out in hit.outputs)
        and (dry_run or _restore(hasher, store, hit.outputs))
    ):
        return Prepared(key, inputs, hit, restored=True)
    return Prepared(key, inputs)


def _restore(hasher: Hasher, store: ArtifactStore, outputs: list[ArtifactRecord]) -> bool:
    try:
        for out in outputs:
            if not _intact(hasher, [out]):
                store.restore(hasher.workspace, out.path, out.sha256)
    except ArtifactError:
        return False
    return _intact(hasher, outputs)


def _input_digest(hasher: Hasher, name: str, path: str, producer: str | None) -> Digest:
    try:
        return hasher.digest(path)
    except ArtifactError as exc:
        source = f"; it is made by {producer!r}: run that job first" if producer else ""
        raise ArtifactError(f"input {name!r}: {exc}{source}") from exc


def _optional_sha(hasher: Hasher, path: str) -> str:
    try:
        return hasher.digest(path).sha256
    except ArtifactError:
        return "missing"


def _intact(hasher: Hasher, outputs: list[ArtifactRecord]) -> bool:
    for out in outputs:
        try:
            if hasher.digest(out.path).sha256 != out.sha256:
                return False
        except ArtifactError:
            return False
    return True


@dataclass(frozen=True, slots=True)
class Collected:
    """What an attempt that exited 0 produced: its outputs' digests and its metrics."""

    outputs: list[ArtifactRecord]
    metrics: dict[str, float]
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


def collect_outputs(step: Step, hasher: Hasher) -> Collected:
    """Hash what the step promised to produce; read its metrics."""
    records: list[ArtifactRecord] = []
    for out in step.outputs:
        try:
            digest = hasher.digest(out.path)
        except ArtifactError as exc:
            missing = not os.path.lexists(hasher.workspace / out.path)
            what = f"was not produced: {exc}" if missing else str(exc)
            return Collected(records, {}, f"declared output {out.name!r} ({out.path}) {what}")
        records.append(ArtifactRecord(out.name, out.path, out.type, digest.sha256, digest.size))
    if step.metrics is None:
        return Collected(records, {})
    path = next(o.path for o in step.outputs if o.name == step.metrics)
    try:
        parsed = read_metrics(resolve_inside(hasher.workspace, path), path)
    except (MetricsError, ArtifactError) as exc:
        return Collected(records, {}, str(exc))
    return Collected(records, parsed.values, warnings=parsed.warnings)
