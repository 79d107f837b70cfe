"""The work done off the engine thread: hashing before a step, and one attempt of it.

Workers never touch run state; they report through ``report`` (the engine's event queue):
``("prepared", step id, Prepared)``, ``("log", step id, attempt, stream, ts, text)`` and
``("done", step id, StepResult, outputs, metrics, error)``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa

from reefline.artifacts.hashing import ArtifactError, Hasher
from reefline.artifacts.store import LocalArtifactStore
from reefline.engine import cache
from reefline.executors.base import Executor, StartError, StepContext, StepHandle, StepResult, Stream
from reefline.plan.ir import OutputRef, Step
from reefline.store import repo

Report = Callable[[tuple[Any, ...]], None]


def store_lookup(db: sa.Engine) -> cache.CacheLookup:
    """Find an earlier successful job with a cache key, and its recorded outputs."""

    def lookup(key: str) -> cache.CacheHit | None:
        with db.connect() as conn:
            found = repo.find_cache_hit(conn, key)
        if found is None:
            return None
        job_id, rows = found
        return cache.CacheHit(
            job_id, [cache.ArtifactRecord(r.name, r.path, r.type, r.sha256, r.size) for r in rows]
        )

    return lookup


class StepWorkers:
    def __init__(
        self,
        *,
        executor: Executor,
        hasher: Hasher,
        db: sa.Engine,
        report: Report,
        store: LocalArtifactStore | None = None,
    ) -> None:
        self.executor = executor
        self.hasher = hasher
        self.store = store
        self.lookup = store_lookup(db)
        self.report = report
        self._handles: dict[str, StepHandle] = {}
        self._lock = threading.Lock()
        self._cancel_grace: float | None = None

    def prepare(
        self, step: Step, upstream_outputs: Mapping[str, tuple[OutputRef, ...]], use_cache: bool
    ) -> None:
        try:
            lookup = self.lookup if use_cache else None
            prepared = cache.prepare(step, self.hasher, upstream_outputs, lookup, self.store)
        except Exception as exc:  # a bug must fail the job, never hang the run
            prepared = cache.Prepared("", [], error=f"internal error while hashing inputs: {exc!r}")
        self.report(("prepared", step.id, prepared))

    def attempt(self, step: Step, ctx: StepContext) -> None:
        """Start, wait for and clean up one attempt; hash its outputs when it succeeded."""
        started = time.time()
        sid, attempt, report = step.id, ctx.attempt, self.report

        def log(stream: Stream, ts: float, text: str) -> None:
            report(("log", sid, attempt, stream, ts, text))

        try:
            handle = self.executor.start(step, ctx, log)
        except StartError as exc:
            report(("done", sid, StepResult(None, started, time.time(), error=str(exc)), [], {}, None))
            return
        except Exception as exc:
            reason = f"executor failed to start the job: {exc!r}"
            report(("done", sid, StepResult(None, started, time.time(), error=reason), [], {}, None))
            return
        with self._lock:
            self._handles[sid] = handle
            grace = self._cancel_grace
        if grace is not None:
            self.executor.cancel(handle, grace)
        try:
            result = self.executor.wait(handle)
        except Exception as exc:
            result = StepResult(None, started, time.time(), error=f"executor error: {exc!r}")
        finally:
            with self._lock:
                self._handles.pop(sid, None)
            self.executor.destroy(handle)
        outputs: list[cache.ArtifactRecord] = []
        metrics: dict[str, float] = {}
        error: str | None = None
        if result.ok:
            outputs, metrics, error = cache.collect_outputs(step, self.hasher)
            if error is None and step.cacheable:
                self._keep(step, attempt, outputs)
        report(("done", sid, result, outputs, metrics, error))

    def _keep(self, step: Step, attempt: int, outputs: list[cache.ArtifactRecord]) -> None:
        """Copy the outputs into the artifact store; a failure costs a future cache hit, not the job."""
        if self.store is None:
            return
        for out in outputs:
            try:
                self.store.save(self.hasher, out.path, out.sha256)
            except (OSError, ArtifactError) as exc:
                message = f"could not keep a copy of {out.path} in the artifact store: {exc}"
                self.report(("log", step.id, attempt, "system", time.time(), message))

    def cancel_all(self, grace: float) -> None:
        """Cancel every running attempt, and every attempt that starts from now on."""
        with self._lock:
            self._cancel_grace = grace
            handles = list(self._handles.values())
        for handle in handles:
            self.executor.cancel(handle, grace)
