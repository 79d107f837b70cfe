"""The two kinds of thing a trace frame can be: a pipeline job, or a component run (the SDK), and
which of them produced some bytes.

Between the two kinds the producer is the one that finished first, and a producer of the other
kind must have finished before the consumer started; within one kind, ids order them (as the job
lookups in ``repo_lineage`` do). A component run inside a job finishes before that job, so a job's
output written by a component is traced into the Python function that wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from reefline.lineage.frames import Frame, Link
from reefline.store import repo_components, repo_lineage
from reefline.store.repo_components import ArtifactRow, ComponentRunInfo

JOB = "job"
COMPONENT = "component"


@dataclass(frozen=True, slots=True)
class Node:
    kind: str  # JOB | COMPONENT
    id: int


def producer(
    conn: Connection,
    sha256: str,
    consumer: Node | None = None,
    started_at: float | None = None,
    *,
    components: bool = True,
) -> Node | None:
    """The job or component run that first produced ``sha256`` (before ``consumer``, which started at
    ``started_at``), following cached jobs to the one that really made the bytes. ``components``:
    False when the store has no component runs (one lookup fewer per link)."""
    before_job = consumer.id if consumer is not None and consumer.kind == JOB else None
    job_id = repo_lineage.first_producer(conn, sha256, before_job_id=before_job)
    made_by = repo_components.producers(conn, sha256) if components else []
    if consumer is not None and consumer.kind == COMPONENT:
        earlier = [p for p in made_by if p.run_id < consumer.id]
    else:
        earlier = [p for p in made_by if _before(p.finished_at, started_at)]
    made = earlier[0] if earlier else None
    job_done: float | None = None
    if job_id is not None and (made is not None or (consumer is not None and consumer.kind == COMPONENT)):
        info = repo_lineage.job_info(conn, job_id)
        job_done = None if info is None else (info.finished_at or info.started_at)
        if consumer is not None and consumer.kind == COMPONENT and not _before(job_done, started_at):
            job_id = None
    if made is None:
        return None if job_id is None else inside(conn, sha256, Node(JOB, job_id), made_by)
    if job_id is None or job_done is None or made.finished_at <= job_done:
        return Node(COMPONENT, made.run_id)
    return inside(conn, sha256, Node(JOB, job_id), made_by)


def inside(
    conn: Connection,
    sha256: str,
    node: Node,
    made_by: list[repo_components.Producer] | None = None,
    *,
    components: bool = True,
) -> Node:
    """The component run inside job ``node`` (or inside the job a cached one reused) that wrote
    ``sha256``, if one did: the Python function that made a job's output; else ``node``."""
    if node.kind != JOB or not components:
        return node
    made_by = repo_components.producers(conn, sha256) if made_by is None else made_by
    in_jobs = {p.job_id: p.run_id for p in reversed(made_by) if p.job_id is not None}
    if not in_jobs:
        return node
    made = in_jobs.get(repo_lineage.original_job(conn, node.id))
    return node if made is None else Node(COMPONENT, made)


def _before(done: float | None, started: float | None) -> bool:
    return done is None or started is None or done <= started


def consumers(conn: Connection, sha256: str, *, components: bool = True) -> list[Node]:
    """Every successful job and component run that read ``sha256``: jobs first, each oldest first."""
    jobs = [Node(JOB, job_id) for job_id in repo_lineage.consumers(conn, sha256)]
    if not components:
        return jobs
    return jobs + [Node(COMPONENT, run_id) for run_id in repo_components.consumers(conn, sha256)]


def component_frame(number: int, info: ComponentRunInfo) -> Frame:
    return Frame(
        number=number,
        job_id=info.job_id,
        job=info.component,
        run_id=info.run_id,
        pipeline=info.pipeline,
        at=info.finished_at,
        commit=info.git_commit,
        branch=info.git_branch,
        dirty=info.git_dirty,
        author=info.owner or "-",
        params={},
        kind=COMPONENT,
        component_run_id=info.id,
        in_job=info.job,
        status=info.status,
        exception=_last_line(info.exception),
    )


def link(row: ArtifactRow, frame: int | None = None, producer_run: int | None = None) -> Link:
    name = row.label or (row.path or "-").rstrip("/").rsplit("/", 1)[-1]
    return Link(name, row.path or "-", row.kind, row.sha256 or "", row.size or 0, frame, None, producer_run)


def _last_line(text: str | None) -> str | None:
    if not text:
        return None
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else None
