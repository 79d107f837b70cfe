"""``reefline trace``: from an artifact back to every job that made it, or forward to what it fed.

A target is a workspace path (its current content is hashed), a sha256 prefix (≥ 6 hex characters),
``RUN:job.output`` or an output id logged with ``reefline.log_output``. The producer of some bytes is
the earliest successful job that output them, across runs and pipelines, followed along
``cached_from_job_id`` to the run that really made them, or the component run (a function decorated
with ``@reefline.component``) that wrote them first: see :mod:`reefline.lineage.nodes`.
"""

from __future__ import annotations

import re
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection

from reefline.artifacts.hashing import ArtifactError, Hasher
from reefline.lineage import nodes
from reefline.lineage.frames import Frame, Link, Trace
from reefline.lineage.nodes import COMPONENT, JOB, Node
from reefline.services.types import Invalid, NotFound
from reefline.store import repo_components, repo_lineage
from reefline.store.prepared import planned_once
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
    component_run_id: int | None = None  # or the component run that made it (or logged its id)

    @property
    def node(self) -> Node | None:
        if self.component_run_id is not None:
            return Node(COMPONENT, self.component_run_id)
        return None if self.job_id is None else Node(JOB, self.job_id)


def _target(label: str, sha: str, made: Node | None) -> Target:
    if made is None:
        return Target(label, sha, None)
    if made.kind == COMPONENT:
        return Target(label, sha, None, made.id)
    return Target(label, sha, made.id)


def resolve(conn: Connection, workspace: Path, target: str) -> Target:
    """The bytes ``target`` names and the job that produced them. Invalid / NotFound for the user."""
    run_output = _RUN_OUTPUT.fullmatch(target)
    if run_output is not None:
        return _resolve_run_output(conn, target, run_output)
    if not (workspace / target).exists():
        logged = repo_components.labelled(conn, target)
        if logged is not None:
            return Target(target, logged[1] or "", None, logged[0])
    if _HEX.fullmatch(target) and not (workspace / target).exists():
        return _resolve_prefix(conn, target)
    try:
        sha = Hasher(workspace).digest(target).sha256
    except ArtifactError as exc:
        raise NotFound(
            f"{target}: not a file in the workspace ({exc}) nor a logged output id; give a workspace "
            f"path, a sha256 prefix of at least {MIN_PREFIX} hex characters, RUN:job.output, or an "
            "output id logged with reefline.log_output"
        ) from exc
    return _target(target, sha, nodes.producer(conn, sha))


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
    candidates = sorted(
        {
            *repo_lineage.shas_with_prefix(conn, prefix.lower()),
            *repo_components.shas_with_prefix(conn, prefix.lower()),
        }
    )[:10]
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
    return _target(prefix, sha, nodes.producer(conn, sha))


def _frame(conn: Connection, number: int, info: JobInfo) -> Frame:
    cached_run = cached_job = None
    code = info.code
    if info.state == "cached":
        original = repo_lineage.original_job(conn, info.job_id)
        if original != info.job_id:
            made = repo_lineage.job_info(conn, original)
            cached_job, cached_run = original, None if made is None else made.run_id
            code = None if made is None else made.code  # the code that made the reused outputs
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
        code=code,
    )


def _staleness(info: JobInfo) -> list[str]:
    """``info`` from :func:`repo_lineage.frame_info`, which reads the later definition with it."""
    if info.definition_hash is None or info.later_definition in (None, info.definition_hash):
        return []
    return [f"the definition of {info.name} changed since (run {info.later_run_id} runs a different one)"]


def backtrace(
    conn: Connection,
    target: Target,
    *,
    depth: int | None = None,
    max_age_days: float | None = None,
    now: float | None = None,
) -> Trace:
    """See :func:`_backtrace`; its queries are planned once (:func:`planned_once`)."""
    with planned_once(conn):
        return _backtrace(conn, target, depth=depth, max_age_days=max_age_days, now=now)


def _backtrace(
    conn: Connection,
    target: Target,
    *,
    depth: int | None,
    max_age_days: float | None,
    now: float | None,
) -> Trace:
    """Frames from the target's producer (#0) back to the sources, breadth first, each job or
    component run once.

    ``depth``: how many links back from #0 to follow (0: only #0). ``max_age_days``: an input made
    longer ago than that is marked stale.
    """
    start = target.node
    if start is None:
        raise NotFound(
            f"{target.label}: no recorded job produced these bytes (sha256:{target.sha256[:12]}…);"
            " it is a source file, or it changed since the last run wrote it"
        )
    limit = DEFAULT_DEPTH if depth is None else depth
    now = time.time() if now is None else now
    recorded = repo_components.any_runs(conn)
    frames: list[Frame] = []
    by_node: dict[Node, Frame] = {}
    made_at: dict[Node, tuple[float | None, float | None, int | None]] = {}  # started, finished, run
    truncated = False
    queue: deque[tuple[Node, int]] = deque([(start, 0)])

    def add(node: Node) -> Frame | None:
        frame = _node_frame(conn, len(frames), node, made_at)
        if frame is not None:
            frames.append(frame)
            by_node[node] = frame
        return frame

    def when(node: Node) -> tuple[float | None, float | None, int | None]:
        if node not in made_at:
            _node_frame(conn, -1, node, made_at)
        return made_at.get(node, (None, None, None))

    if add(start) is None:
        raise NotFound(f"{target.label}: its producer is no longer recorded")
    while queue:
        node, level = queue.popleft()
        frame = by_node[node]
        consumer_start = when(node)[0]
        for row in _inputs_of(conn, node, frame):
            producer = None
            if row.producer_job_id is not None:  # a from: edge: shown as that run has it, maybe cached
                producer = nodes.inside(conn, row.sha256, Node(JOB, row.producer_job_id), components=recorded)
            elif row.sha256:
                producer = nodes.producer(conn, row.sha256, node, consumer_start, components=recorded)
            number = producer_run = None
            stale: str | None = None
            if producer is not None:
                known = by_node.get(producer)
                if known is None and level < limit:
                    known = add(producer)
                    if known is not None:
                        queue.append((producer, level + 1))
                elif known is None:
                    truncated = True
                number = None if known is None else known.number
                _, finished, producer_run = when(producer)
                if (
                    max_age_days is not None
                    and finished is not None
                    and now - finished > max_age_days * _DAY_S
                ):
                    stale = f"made {(now - finished) / _DAY_S:.0f} days ago (over --max-age {max_age_days:g})"
            made_by = producer.id if producer is not None and producer.kind == COMPONENT else None
            frame.inputs.append(
                Link(row.name, row.path, row.type, row.sha256, row.size, number, stale, producer_run, made_by)
            )
    return Trace(target.label, target.sha256, "back", frames, truncated)


@dataclass(frozen=True, slots=True)
class _Input:
    name: str
    path: str
    type: str
    sha256: str
    size: int
    producer_job_id: int | None


def _inputs_of(conn: Connection, node: Node, frame: Frame) -> list[_Input]:
    """The node's inputs; its outputs are set on ``frame`` on the way."""
    if node.kind == COMPONENT:
        frame.outputs = [nodes.link(row) for row in repo_components.run_outputs(conn, node.id)]
        return [
            _Input(link.name, link.path, link.type, link.sha256, link.size, None)
            for link in map(nodes.link, repo_components.run_inputs(conn, node.id))
        ]
    read, written = repo_lineage.job_artifacts(conn, node.id)
    frame.outputs = [Link(o.name, o.path, o.type, o.sha256, o.size, uri=o.uri) for o in written]
    return [_Input(r.name, r.path, r.type, r.sha256, r.size, r.producer_job_id) for r in read]


def _node_frame(
    conn: Connection,
    number: int,
    node: Node,
    made_at: dict[Node, tuple[float | None, float | None, int | None]],
) -> Frame | None:
    """The frame of a job or component run (None: not recorded); notes when it started and finished."""
    if node.kind == COMPONENT:
        component = repo_components.run_info(conn, node.id)
        if component is None:
            return None
        made_at[node] = (component.started_at, component.finished_at, component.run_id)
        return nodes.component_frame(number, component)
    info = (repo_lineage.frame_info if number >= 0 else repo_lineage.job_info)(conn, node.id)
    if info is None:
        return None
    made_at[node] = (info.started_at, info.finished_at or info.started_at, info.run_id)
    if number < 0:
        return None
    frame = _frame(conn, number, info)
    frame.stale = _staleness(info)
    return frame


def forward(conn: Connection, target: Target, *, depth: int | None = None) -> Trace:
    """See :func:`_forward`; its queries are planned once (:func:`planned_once`)."""
    with planned_once(conn):
        return _forward(conn, target, depth=depth)


def _forward(conn: Connection, target: Target, *, depth: int | None) -> Trace:
    """Every successful job and component run that read the target's bytes, and what their outputs
    fed, breadth first."""
    limit = DEFAULT_DEPTH if depth is None else depth
    frames: list[Frame] = []
    seen: set[Node] = set()
    truncated = False
    # (sha, the frame whose output it is, level of the readers)
    queue: deque[tuple[str, int | None, int]] = deque([(target.sha256, None, 0)])
    seen_sha: set[str] = set()
    made_at: dict[Node, tuple[float | None, float | None, int | None]] = {}
    recorded = repo_components.any_runs(conn)
    while queue:
        sha, parent, level = queue.popleft()
        if not sha or sha in seen_sha:
            continue
        seen_sha.add(sha)
        for node in nodes.consumers(conn, sha, components=recorded):
            if node in seen:
                continue
            if level > limit:
                truncated = True
                break
            frame = _node_frame(conn, len(frames), node, made_at)
            if frame is None:
                continue
            seen.add(node)
            frame.derived_from = parent
            read = _inputs_of(conn, node, frame)
            frame.inputs = [Link(r.name, r.path, r.type, r.sha256, r.size) for r in read if r.sha256 == sha]
            frames.append(frame)
            for out in frame.outputs:
                queue.append((out.sha256, frame.number, level + 1))
    if not frames:
        raise NotFound(f"{target.label}: no recorded job read these bytes (sha256:{target.sha256[:12]}…)")
    return Trace(target.label, target.sha256, "forward", frames, truncated)
