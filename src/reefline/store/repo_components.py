"""The Python SDK's records: components, their runs, and what each run read and wrote.

Every function takes an open connection and never commits: callers own the transaction. The
lineage lookups are each one indexed query (``ix_component_artifacts_sha256`` / ``_label``, keys).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, and_, bindparam, func, select

from reefline.store._util import insert_ignoring_conflicts, inserted_id
from reefline.store.component_records import ComponentSpec, RunRecord
from reefline.store.tables import component_artifacts, component_runs, components, jobs, pipelines, runs

LAPTOP_SCOPE = ""
DEFAULT_KIND = "component"
_MAX_CANDIDATES = 10
_MAX_PRODUCERS = 16


def team_scope(team_id: int) -> str:
    return f"team:{team_id}"


@dataclass(frozen=True, slots=True)
class ComponentRow:
    id: int
    name: str
    kind: str
    owner: str | None
    description: str | None
    created_at: float
    runs: int
    last_status: str | None
    last_finished_at: float | None


@dataclass(frozen=True, slots=True)
class ComponentRunInfo:
    """A component run with what a trace frame shows of it."""

    id: int
    component: str
    kind: str
    owner: str | None
    status: str
    exception: str | None
    started_at: float
    finished_at: float
    git_commit: str | None
    git_branch: str | None
    git_dirty: bool | None
    host: str | None
    pid: int | None
    workspace: str | None
    job_id: int | None
    attempt: int | None
    job: str | None  # the job's step id, e.g. "train[model=tree]"
    run_id: int | None  # the pipeline run of that job
    pipeline: str | None


@dataclass(frozen=True, slots=True)
class ArtifactRow:
    id: int
    run_id: int
    direction: str
    path: str | None
    kind: str
    sha256: str | None
    size: int | None
    label: str | None


_RUN_INFO = (
    select(
        component_runs.c.id,
        components.c.name.label("component"),
        components.c.kind,
        components.c.owner,
        component_runs.c.status,
        component_runs.c.exception,
        component_runs.c.started_at,
        component_runs.c.finished_at,
        component_runs.c.git_commit,
        component_runs.c.git_branch,
        component_runs.c.git_dirty,
        component_runs.c.host,
        component_runs.c.pid,
        component_runs.c.workspace,
        component_runs.c.job_id,
        component_runs.c.attempt,
        jobs.c.name.label("job"),
        jobs.c.run_id,
        pipelines.c.name.label("pipeline"),
    )
    .select_from(
        component_runs.join(components, component_runs.c.component_id == components.c.id)
        .outerjoin(jobs, component_runs.c.job_id == jobs.c.id)
        .outerjoin(runs, jobs.c.run_id == runs.c.id)
        .outerjoin(pipelines, runs.c.pipeline_id == pipelines.c.id)
    )
    .where(component_runs.c.id == bindparam("run_id"))
)
_ARTIFACTS = (
    select(component_artifacts)
    .where(
        component_artifacts.c.run_id == bindparam("run_id"), component_artifacts.c.direction == bindparam("d")
    )
    .order_by(component_artifacts.c.id)
)
# The earliest successful component run that wrote (or read) these bytes, with its finish time.
_BY_SHA = (
    select(component_runs.c.id, component_runs.c.finished_at)
    .select_from(
        component_artifacts.join(component_runs, component_artifacts.c.run_id == component_runs.c.id)
    )
    .where(
        component_artifacts.c.sha256 == bindparam("sha256"),
        component_artifacts.c.direction == bindparam("d"),
        component_runs.c.status == "success",
    )
    .order_by(component_artifacts.c.run_id)
)
_BY_LABEL = (
    select(component_artifacts.c.run_id, component_artifacts.c.sha256)
    .where(component_artifacts.c.label == bindparam("label"), component_artifacts.c.direction == "out")
    .order_by(component_artifacts.c.run_id.desc())
    .limit(1)
)


def ensure_component(
    conn: Connection, scope: str, team_id: int | None, spec: ComponentSpec, now: float
) -> int:
    """The id of component ``spec.name`` in ``scope``, created if new; a kind, owner or description
    given (not None) replaces the stored one, so the code that runs is the source of truth."""
    insert = insert_ignoring_conflicts(conn, components, ["scope", "name"])
    conn.execute(
        insert.values(
            scope=scope,
            team_id=team_id,
            name=spec.name,
            kind=spec.kind or DEFAULT_KIND,
            owner=spec.owner,
            description=spec.description,
            created_at=now,
        )
    )
    row = conn.execute(
        select(components.c.id, components.c.kind, components.c.owner, components.c.description).where(
            components.c.scope == scope, components.c.name == spec.name
        )
    ).one()
    given = {"kind": spec.kind, "owner": spec.owner, "description": spec.description}
    changed = {k: v for k, v in given.items() if v is not None and v != getattr(row, k)}
    if changed:
        conn.execute(components.update().where(components.c.id == row.id).values(**changed))
    return int(row.id)


def insert_run(
    conn: Connection, component_id: int, record: RunRecord, *, recorded_by: int | None = None
) -> int:
    """Store one component run and its inputs and outputs; returns its id."""
    values = {
        "component_id": component_id,
        "status": record.status,
        "exception": record.exception,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "git_commit": record.git_commit,
        "git_branch": record.git_branch,
        "git_dirty": record.git_dirty,
        "host": record.host,
        "pid": record.pid,
        "workspace": record.workspace,
        "job_id": record.job_id,
        "attempt": record.attempt,
        "recorded_by": recorded_by,
    }
    run_id = inserted_id(conn.execute(component_runs.insert().values(**values)))
    if record.artifacts:
        conn.execute(
            component_artifacts.insert(),
            [
                {
                    "run_id": run_id,
                    "direction": a.direction,
                    "path": a.path,
                    "kind": a.kind,
                    "sha256": a.sha256,
                    "size": a.size,
                    "label": a.label,
                }
                for a in record.artifacts
            ],
        )
    return run_id


def list_components(conn: Connection, scope: str) -> list[ComponentRow]:
    """The scope's components by name, with their number of runs and the newest run's status and time."""
    last = (
        select(
            component_runs.c.component_id,
            func.max(component_runs.c.id).label("last_id"),
            func.count().label("n"),
        )
        .group_by(component_runs.c.component_id)
        .subquery()
    )
    latest = component_runs.alias("latest")
    query = (
        select(
            components.c.id,
            components.c.name,
            components.c.kind,
            components.c.owner,
            components.c.description,
            components.c.created_at,
            func.coalesce(last.c.n, 0).label("runs"),
            latest.c.status.label("last_status"),
            latest.c.finished_at.label("last_finished_at"),
        )
        .select_from(
            components.outerjoin(last, last.c.component_id == components.c.id).outerjoin(
                latest, latest.c.id == last.c.last_id
            )
        )
        .where(components.c.scope == scope)
        .order_by(components.c.name)
    )
    return [ComponentRow(**row._mapping) for row in conn.execute(query)]


def job_in_run(conn: Connection, job_id: int, run_id: int) -> tuple[str, int | None] | None:
    """The workspace and team of the run ``run_id`` if it has job ``job_id``; None if it has not."""
    row = conn.execute(
        select(runs.c.workspace, pipelines.c.team_id)
        .select_from(
            jobs.join(runs, jobs.c.run_id == runs.c.id).join(pipelines, runs.c.pipeline_id == pipelines.c.id)
        )
        .where(jobs.c.id == job_id, jobs.c.run_id == run_id)
    ).first()
    return None if row is None else (str(row.workspace), row.team_id)


# ---------------------------------------------------------------------------------------- lineage


def run_info(conn: Connection, run_id: int) -> ComponentRunInfo | None:
    row = conn.execute(_RUN_INFO, {"run_id": run_id}).first()
    return None if row is None else ComponentRunInfo(**row._mapping)


def run_inputs(conn: Connection, run_id: int) -> list[ArtifactRow]:
    return [ArtifactRow(**row._mapping) for row in conn.execute(_ARTIFACTS, {"run_id": run_id, "d": "in"})]


def run_outputs(conn: Connection, run_id: int) -> list[ArtifactRow]:
    return [ArtifactRow(**row._mapping) for row in conn.execute(_ARTIFACTS, {"run_id": run_id, "d": "out"})]


@dataclass(frozen=True, slots=True)
class Producer:
    run_id: int
    finished_at: float
    job_id: int | None  # the job it ran inside


_PRODUCERS = (
    select(component_runs.c.id, component_runs.c.finished_at, component_runs.c.job_id)
    .select_from(
        component_artifacts.join(component_runs, component_artifacts.c.run_id == component_runs.c.id)
    )
    .where(
        component_artifacts.c.sha256 == bindparam("sha256"),
        component_artifacts.c.direction == "out",
        component_runs.c.status == "success",
    )
    .order_by(component_artifacts.c.run_id)
    .limit(_MAX_PRODUCERS)
)


def any_runs(conn: Connection) -> bool:
    """Whether any component run is recorded: a trace of a store without any skips their lookups."""
    return conn.execute(select(component_runs.c.id).limit(1)).first() is not None


def producers(conn: Connection, sha256: str) -> list[Producer]:
    """The first successful component runs that output ``sha256`` (at most 16), oldest first: one
    query answers both "who made it first" and "which of them ran inside this job"."""
    found = conn.execute(_PRODUCERS, {"sha256": sha256})
    return [Producer(int(r.id), float(r.finished_at), r.job_id) for r in found]


def consumers(conn: Connection, sha256: str) -> list[int]:
    """The successful component runs that read ``sha256``, oldest first."""
    found = conn.execute(_BY_SHA, {"sha256": sha256, "d": "in"}).scalars()
    return list(dict.fromkeys(int(run_id) for run_id in found))


def labelled(conn: Connection, label: str) -> tuple[int, str | None] | None:
    """The newest component run that logged output id ``label``, and that output's sha256."""
    row = conn.execute(_BY_LABEL, {"label": label}).first()
    return None if row is None else (int(row.run_id), row.sha256)


def shas_with_prefix(conn: Connection, prefix: str) -> list[str]:
    """Up to 10 distinct hashes of component inputs and outputs starting with ``prefix`` (lower-case)."""
    column = component_artifacts.c.sha256
    query = (
        select(column)
        .where(and_(column >= prefix, column < prefix + "~"))
        .distinct()
        .order_by(column)
        .limit(_MAX_CANDIDATES)
    )
    return [str(sha) for sha in conn.execute(query).scalars()]
