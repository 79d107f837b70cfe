"""``reefline trace``: from an artifact back to every job that made it, or forward to what it fed.

A target is a workspace path (its current content is hashed), a sha256 prefix (≥ 6 hex characters) or
``RUN:job.output``. The producer of some bytes is the earliest successful job that output them, across
runs and pipelines, followed along ``cached_from_job_id`` to the run that really made them.
"""

from __future__ import annotations

import re
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection

from reefline.artifacts.hashing import ArtifactError, Hasher
from reefline.lineage.frames import Frame, Link, Trace
from reefline.services.types import Invalid, NotFound
from reefline.store import repo_lineage
from reefline.store.repo_lineage import JobInfo

MIN_PREFIX = 6
DEFAULT_DEPTH = 64  # frames' distance from #0; a guard against a runaway trace
_HEX = re.compile(r"[0-9a-fA-F]+")
_RUN_OUTPUT = re.compile(r"(?P<run>\d+|last):(?P<job>.+)\.(?P<output>[^.\]]+)")
_DAY_S = 86400.0


@dataclass(frozen=True, slots=True)
class Target:
    label: str  # as the user gave it
    sha256: str
    job_id: int | None  # the job it names or that produced it; None: nothing recorded made it


def resolve(conn: Connection, workspace: Path, target: str) -> Target:
    """The bytes ``target`` names and the job that produced them. Invalid / NotFound for the user."""
    run_output = _RUN_OUTPUT.fullmatch(target)
    if run_output is not None:
        return _resolve_run_output(conn, target, run_output)
    if _HEX.fullmatch(target) and not (workspace / target).exists():
        return _resolve_prefix(conn, target)
    try:
        sha = Hasher(workspace).digest(target).sha256
    except ArtifactError as exc:
        raise NotFound(
            f"{target}: not a file in the workspace ({exc}); give a workspace path, a sha256 prefix "
            f"of at least {MIN_PREFIX} hex characters, or RUN:job.output"
        ) from exc
    return Target(target, sha, repo_lineage.first_producer(conn, sha))


def _resolve_run_output(conn: Connection, target: str, found: re.Match[str]) -> Target:
    run_text, job, output = found["run"], found["job"], found["output"]
    run_id = repo_lineage.last_run_id(conn) if run_text == "last" else int(run_text)
    if run_id is None:
        raise NotFound("there are no runs here yet")
    rows = repo_lineage.run_job_outputs(conn, run_id, job, output)
    if not rows:
        names = repo_lineage.run_job_names(conn, run_id)
        if not names:
            raise NotFound(f"run {run_id} does not exist (see `reefline runs`)")
        if job not in names:
            raise NotFound(f"run {run_id} has no job {job!r}; its jobs: {', '.join(sorted(names))}")
        raise NotFound(f"job {job!r} of run {run_id} recorded no output {output!r}")
    job_id, row = rows[0]
    return Target(target, row.sha256, job_id)


def _resolve_prefix(conn: Connection, prefix: str) -> Target:
    if len(prefix) < MIN_PREFIX:
        raise Invalid(f"{prefix}: a sha256 prefix needs at least {MIN_PREFIX} hex characters")
    candidates = repo_lineage.shas_with_prefix(conn, prefix.lower())
    if not candidates:
        raise NotFound(f"no recorded artifact has a sha256 starting with {prefix}")
    if len(candidates) > 1:
        listed = "\n".join(f"  {sha}" for sha in candidates)
        raise Invalid(
            f"{prefix} is ambiguous: {len(candidates)} recorded hashes start with it;"
            f" give more characters:\n{listed}",
            details={"candidates": candidates},
        )
    sha = candidates[0]
    return Target(prefix, sha, repo_lineage.first_producer(conn, sha))


def _frame(conn: Connection, number: int, info: JobInfo) -> Frame:
    cached_run = cached_job = None
    if info.state == "cached":
        original = repo_lineage.original_job(conn, info.job_id)
        if original != info.job_id:
            made = repo_lineage.job_info(conn, original)
            cached_job, cached_run = original, None if made is None else made.run_id
    return Frame(
        number=number,
        job_id=info.job_id,
        job=info.name,
        run_id=info.run_id,
        pipeline=info.pipeline,
        at=info.finished_at or info.started_at,
        commit=info.git_commit,
        branch=info.git_branch,
        dirty=info.git_dirty,
        author=info.author or "laptop",
        params={**info.run_params, **info.matrix},
        cached_from_run=cached_run,
        cached_from_job_id=cached_job,
    )


def _staleness(conn: Connection, info: JobInfo) -> list[str]:
    if info.definition_hash is None:
        return []
    later = repo_lineage.later_definition(conn, info.pipeline_id, info.name, info.run_id)
    if later is None or later[0] == info.definition_hash:
        return []
    return [f"the definition of {info.name} changed since (run {later[1]} runs a different one)"]


def backtrace(
    conn: Connection,
    target: Target,
    *,
    depth: int | None = None,
    max_age_days: float | None = None,
    now: float | None = None,
) -> Trace:
    """Frames from the target's producer (#0) back to the sources, breadth first, each job once.

    ``depth``: how many links back from #0 to follow (0: only #0). ``max_age_days``: an input made
    longer ago than that is marked stale.
    """
    if target.job_id is None:
        raise NotFound(
            f"{target.label}: no recorded job produced these bytes (sha256:{target.sha256[:12]}…);"
            " it is a source file, or it changed since the last run wrote it"
        )
    limit = DEFAULT_DEPTH if depth is None else depth
    now = time.time() if now is None else now
    frames: list[Frame] = []
    by_job: dict[int, Frame] = {}
    infos: dict[int, JobInfo] = {}
    truncated = False
    queue: deque[tuple[int, int]] = deque([(target.job_id, 0)])

    def add(job_id: int) -> Frame | None:
        info = repo_lineage.job_info(conn, job_id)
        if info is None:
            return None
        frame = _frame(conn, len(frames), info)
        frame.stale = _staleness(conn, info)
        frames.append(frame)
        by_job[job_id], infos[job_id] = frame, info
        return frame

    add(target.job_id)
    while queue:
        job_id, level = queue.popleft()
        frame = by_job[job_id]
        frame.outputs = [
            Link(o.name, o.path, o.type, o.sha256, o.size) for o in repo_lineage.job_outputs(conn, job_id)
        ]
        for row in repo_lineage.job_inputs(conn, job_id):
            # A producer in the same run (a from: edge) is shown as that run has it, maybe cached.
            producer = row.producer_job_id
            if producer is None:
                producer = repo_lineage.first_producer(conn, row.sha256, before_job_id=job_id)
            number = producer_run = None
            stale: str | None = None
            if producer is not None:
                known = by_job.get(producer)
                if known is None and level < limit:
                    known = add(producer)
                    if known is not None:
                        queue.append((producer, level + 1))
                elif known is None:
                    truncated = True
                number = None if known is None else known.number
                made = infos.get(producer) or repo_lineage.job_info(conn, producer)
                made_at = None if made is None else (made.finished_at or made.started_at)
                producer_run = None if made is None else made.run_id
                if max_age_days is not None and made_at is not None and now - made_at > max_age_days * _DAY_S:
                    stale = f"made {(now - made_at) / _DAY_S:.0f} days ago (over --max-age {max_age_days:g})"
            frame.inputs.append(
                Link(row.name, row.path, row.type, row.sha256, row.size, number, stale, producer_run)
            )
    return Trace(target.label, target.sha256, "back", frames, truncated)


def forward(conn: Connection, target: Target, *, depth: int | None = None) -> Trace:
    """Every successful job that read the target's bytes, and what their outputs fed, breadth first."""
    limit = DEFAULT_DEPTH if depth is None else depth
    frames: list[Frame] = []
    seen: set[int] = set()
    truncated = False
    # (sha, the frame whose output it is, level of the readers)
    queue: deque[tuple[str, int | None, int]] = deque([(target.sha256, None, 0)])
    seen_sha: set[str] = set()
    while queue:
        sha, parent, level = queue.popleft()
        if sha in seen_sha:
            continue
        seen_sha.add(sha)
        for job_id in repo_lineage.consumers(conn, sha):
            if job_id in seen:
                continue
            if level > limit:
                truncated = True
                break
            info = repo_lineage.job_info(conn, job_id)
            if info is None:
                continue
            seen.add(job_id)
            frame = _frame(conn, len(frames), info)
            frame.stale = _staleness(conn, info)
            frame.derived_from = parent
            frame.inputs = [
                Link(r.name, r.path, r.type, r.sha256, r.size)
                for r in repo_lineage.job_inputs(conn, job_id)
                if r.sha256 == sha
            ]
            frame.outputs = [
                Link(o.name, o.path, o.type, o.sha256, o.size) for o in repo_lineage.job_outputs(conn, job_id)
            ]
            frames.append(frame)
            for out in frame.outputs:
                queue.append((out.sha256, frame.number, level + 1))
    if not frames:
        raise NotFound(f"{target.label}: no recorded job read these bytes (sha256:{target.sha256[:12]}…)")
    return Trace(target.label, target.sha256, "forward", frames, truncated)
