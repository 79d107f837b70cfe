"""The work done off the engine thread: hashing before a step, and one attempt of it.

Workers never touch run state; they report through ``report`` (the engine's event queue):
``("prepared", step id, Prepared)``, ``("log", step id, attempt, stream, ts, text, seq)``,
``("logs", step id, attempt, [(stream, ts, text, seq), ...])`` (a batch of the job's own output; the
engine calls ``pressure.release()`` once per batch) and
``("done", step id, StepResult, outputs, metrics, error, code)`` (``code``: the attempt's code
fingerprint, see :mod:`reefline.engine.fingerprint`; None when it could not be taken).

Every declared output of a successful attempt is kept in the artifact store, also for a job with
``cache: false`` (keeping is not caching: its cache lookup stays off), so that trace and checkout can
bring it back; the outputs reported carry the store's URI of each.

Each worker function reports exactly once, whatever raises inside it: an exception in the executor
(start, wait, cancel, destroy), the log sink, the hasher or the artifact store fails that job with
``internal error: …`` and puts the traceback in its log.
"""

from __future__ import annotations

import dataclasses
import shlex
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from reefline.artifacts.base import ArtifactStore
from reefline.artifacts.hashing import ArtifactError, Hasher
from reefline.engine import cache
from reefline.engine.failures import internal_error, traceback_lines
from reefline.engine.fingerprint import code_fingerprint
from reefline.engine.logcap import AttemptLog, Backpressure, LogLimits, LogSeq, SeqLine
from reefline.engine.masking import SecretMasker
from reefline.executors.base import (
    Executor,
    StartError,
    StepContext,
    StepHandle,
    StepResult,
    Stream,
    resolve_image,
)
from reefline.plan.ir import OutputRef, Step
from reefline.store import repo

Report = Callable[[tuple[Any, ...]], None]
Route = Callable[[Step], Executor]
"""The executor of a step; raises :class:`StartError` when it has none."""


def store_lookup(db: sa.Engine, team_id: int | None = None) -> cache.CacheLookup:
    """Find an earlier successful job with a cache key, and its recorded outputs: of a pipeline of
    the team ``team_id`` (None: of a laptop pipeline, without a team)."""

    def lookup(key: str) -> cache.CacheHit | None:
        with db.connect() as conn:
            found = repo.find_cache_hit(conn, key, team_id)
        if found is None:
            return None
        job_id, rows = found
        records = [cache.ArtifactRecord(r.name, r.path, r.type, r.sha256, r.size, uri=r.uri) for r in rows]
        return cache.CacheHit(job_id, records, attempt=(rows[0].attempt or 1) if rows else 1)

    return lookup


class StepWorkers:
    def __init__(
        self,
        *,
        executor: Executor | None = None,
        route: Route | None = None,
        hasher: Hasher,
        db: sa.Engine,
        report: Report,
        store: ArtifactStore | None = None,
        log_limits: LogLimits | None = None,
        masker: SecretMasker | None = None,
        team_id: int | None = None,
    ) -> None:
        self.masker = masker  # the run's secrets: masked in every line before it is reported
        if route is None:
            if executor is None:
                raise TypeError("StepWorkers needs an executor or a route")
            route = _fixed(executor)
        self.route = route
        self.hasher = hasher
        self.store = store
        self.lookup = store_lookup(db, team_id)
        self.report = report
        self.log_limits = log_limits or LogLimits.from_env()
        self.pressure = Backpressure()
        self._handles: dict[str, tuple[Executor, StepHandle]] = {}
        self._lock = threading.Lock()
        self._cancel_grace: float | None = None

    def prepare(
        self, step: Step, upstream_outputs: Mapping[str, tuple[OutputRef, ...]], use_cache: bool
    ) -> None:
        try:
            lookup = self.lookup if use_cache else None
            image_id = resolve_image(self.route(step), step) if step.image is not None else None
            prepared = cache.prepare(
                step, self.hasher, upstream_outputs, lookup, self.store, image_id=image_id
            )
            prepared = dataclasses.replace(prepared, image_id=image_id)
            if prepared.hit is not None:
                prepared = dataclasses.replace(prepared, hit=self._located(prepared.hit))
        except StartError as exc:  # the image is missing or cannot be pulled: the job fails, named
            prepared = cache.Prepared("", [], error=str(exc))
        except Exception as exc:  # a bug must fail the job, never hang the run
            prepared = cache.Prepared("", [], error=internal_error(exc), details=tuple(traceback_lines(exc)))
        self.report(("prepared", step.id, prepared))

    def attempt(
        self, step: Step, ctx: StepContext, full_log: Path | None = None, seq: LogSeq | None = None
    ) -> None:
        """Start, wait for and clean up one attempt; hash its outputs when it succeeded.

        ``full_log``: where the attempt's whole log is written (gzip), beside what the store keeps.
        ``seq``: the attempt's line numbers, shared with the engine's own lines about the attempt.
        """
        started = time.time()
        sid, attempt, report = step.id, ctx.attempt, self.report
        seq = seq or LogSeq(attempt)

        def emit(lines: list[SeqLine]) -> None:
            report(("logs", sid, attempt, lines))

        command = f"reefline logs {ctx.run_id} {shlex.quote(sid)} --full"
        log = AttemptLog(emit, self.pressure, self.log_limits, full_log, command, seq=seq, masker=self.masker)
        for problem in self.log_limits.problems:
            self._system(sid, seq, problem)
        notes: list[str] = []  # what Reefline says about the attempt: logged after the job's own lines
        collected = cache.Collected([], {})
        code = self._fingerprint(step, ctx, notes)
        try:
            result = self._run(step, ctx, log, started, notes)
        except Exception as exc:
            result = self._internal(started, exc, notes)
        try:
            log.close()
        except Exception as exc:
            result = self._internal(started, exc, notes)
        if result.ok:
            try:
                collected = cache.collect_outputs(step, self.hasher)
                notes.extend(collected.warnings)
                if collected.error is None:
                    collected = dataclasses.replace(collected, outputs=self._keep(collected.outputs, notes))
            except Exception as exc:
                result = self._internal(started, exc, notes)
                collected = cache.Collected([], {})
        for note in notes:
            self._system(sid, seq, note)
        report(("done", sid, result, collected.outputs, collected.metrics, collected.error, code))

    def _fingerprint(self, step: Step, ctx: StepContext, notes: list[str]) -> dict[str, Any] | None:
        """The code the attempt is about to run; a failure to take it is a note, never the job's."""
        try:
            return code_fingerprint(step, self.hasher, ctx.image_id)
        except Exception as exc:
            notes.append(f"could not record the code fingerprint of this attempt: {exc}")
            return None

    def _run(
        self, step: Step, ctx: StepContext, log: AttemptLog, started: float, notes: list[str]
    ) -> StepResult:
        sid = step.id
        try:
            executor = self.route(step)
            handle = executor.start(step, ctx, log)
        except StartError as exc:
            return StepResult(None, started, time.time(), error=str(exc))
        with self._lock:
            self._handles[sid] = (executor, handle)
            grace = self._cancel_grace
        result: StepResult | None = None
        deadline = None
        if step.timeout is not None and not executor.supports_timeout:
            deadline = _Deadline(step.timeout, lambda: self._cancel(executor, handle, 0.0))
        try:
            if grace is not None:
                self._cancel(executor, handle, grace)
            result = executor.wait(handle)
            if deadline is not None and deadline.fired.is_set() and not result.ok:
                result = deadline.timed_out(result)
        except Exception as exc:
            result = self._internal(started, exc, notes)
        finally:
            if deadline is not None:
                deadline.cancel()
            with self._lock:
                self._handles.pop(sid, None)
            try:
                executor.destroy(handle)
            except Exception as exc:
                # The attempt's processes may still run: this attempt cannot count as a success.
                destroyed = self._internal(started, exc, notes)
                if result is None or result.ok:
                    result = destroyed
        assert result is not None
        return result

    @staticmethod
    def _internal(started: float, exc: BaseException, notes: list[str]) -> StepResult:
        """The result of an attempt broken by ``exc``; its traceback goes to the job's log."""
        notes.extend(traceback_lines(exc))
        return StepResult(None, started, time.time(), error=internal_error(exc))

    def _system(self, sid: str, seq: LogSeq, text: str) -> None:
        stream: Stream = "system"
        if self.masker is not None:
            text = self.masker.mask_line(text)
        self.report(("log", sid, seq.attempt, stream, time.time(), text, seq.next()))

    def _keep(self, outputs: list[cache.ArtifactRecord], notes: list[str]) -> list[cache.ArtifactRecord]:
        """Copy the outputs into the artifact store; the records with their URI there.

        A failure to keep one (the store is full or unreachable) is a note in the job's log and no URI:
        it costs a future cache hit or checkout, not the job. A bug in the store raises."""
        if self.store is None:
            return outputs
        kept = []
        for out in outputs:
            try:
                self.store.save(self.hasher, out.path, out.sha256)
                kept.append(dataclasses.replace(out, uri=self.store.uri(out.sha256)))
            except (OSError, ArtifactError) as exc:
                notes.append(f"could not keep a copy of {out.path} in the artifact store: {exc}")
                kept.append(out)
        return kept

    def _located(self, hit: cache.CacheHit) -> cache.CacheHit:
        """The hit with the store's URI of each output its record lacks (recorded before schema 0009,
        or when the copy could not be made then but was made later)."""
        if self.store is None or all(out.uri is not None for out in hit.outputs):
            return hit
        located = []
        for out in hit.outputs:
            uri = out.uri
            if uri is None:
                try:
                    uri = self.store.uri(out.sha256)
                except (OSError, ArtifactError):
                    uri = None  # not stored: the record says so
            located.append(dataclasses.replace(out, uri=uri))
        return dataclasses.replace(hit, outputs=located)

    @staticmethod
    def _cancel(executor: Executor, handle: StepHandle, grace: float) -> None:
        """Cancel one attempt; if the executor cannot, destroy it (kill) instead."""
        if not executor.supports_cancel:
            executor.destroy(handle)
            return
        try:
            executor.cancel(handle, grace)
        except Exception:
            executor.destroy(handle)

    def abandon(self) -> None:
        """The engine stops reading reports (it is going down): nothing may wait for it any more."""
        self.pressure.close()
        self.cancel_all(0.0)

    def cancel_all(self, grace: float) -> None:
        """Cancel every running attempt, and every attempt that starts from now on.

        Never raises: an executor that fails to cancel or destroy an attempt leaves it to its
        waiting worker, which reports the failure.
        """
        with self._lock:
            self._cancel_grace = grace
            handles = list(self._handles.values())
        self.hasher.stop()  # a job's big output being hashed does not hold the cancel up
        for executor, handle in handles:
            try:
                self._cancel(executor, handle, grace)
            except Exception:  # reported by the attempt's own worker when its wait ends
                continue


def _fixed(executor: Executor) -> Route:
    return lambda step: executor


class _Deadline:
    """The engine's own timeout for an executor that cannot time a step out: a cancel when it fires."""

    def __init__(self, seconds: float, cancel: Callable[[], None]) -> None:
        self.seconds = seconds
        self.fired = threading.Event()

        def fire() -> None:
            self.fired.set()
            cancel()

        self._timer = threading.Timer(seconds, fire)
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        self._timer.cancel()

    def timed_out(self, result: StepResult) -> StepResult:
        return dataclasses.replace(
            result, error=f"timed out after {self.seconds:g}s", timed_out=True, canceled=False
        )
