"""A team's components (the Python SDK): record a component run (``pipeline.run``), list the components
(``pipeline.read``). ``reefline.component`` posts here when ``REEFLINE_SERVER`` and a token are set."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends
from pydantic import BaseModel, ConfigDict, Field

from reefline.server.deps import Access, Transaction, access
from reefline.server.routing import SecureRouter
from reefline.services import components
from reefline.services.permissions import Permission
from reefline.services.timefmt import iso
from reefline.store.component_records import ArtifactRecord, ComponentSpec, RunRecord

router = SecureRouter(tags=["components"])
Caller = Annotated[Access, Depends(access)]
COMPONENTS = "/teams/{team}/components"
MAX_ARTIFACTS = 10_000
_ID = Field(default=None, ge=0, le=2**31 - 1)
_TIME = Field(ge=0, le=1e11, allow_inf_nan=False)


class ComponentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # false is not a size, "1" not an id
    name: str = Field(min_length=1, max_length=200, description="e.g. featurize")
    kind: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="your own type; None: as registered, or component",
    )
    owner: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)


class ArtifactIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # false is not a size, "1" not an id
    direction: Literal["in", "out"]
    path: str | None = Field(default=None, max_length=4096, description="None: an output id without a value")
    kind: Literal["file", "dir", "label"]
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    size: int | None = Field(default=None, ge=0, le=2**62)
    label: str | None = Field(default=None, min_length=1, max_length=200, description="e.g. prediction-8812")


class ComponentRunIn(BaseModel):
    """One call of a decorated function, as the SDK measured it."""

    model_config = ConfigDict(extra="forbid", strict=True)  # false is not a size, "1" not an id
    component: ComponentIn
    status: Literal["success", "failed"]
    started_at: float = _TIME
    finished_at: float = _TIME
    exception: str | None = Field(default=None, max_length=65_536)
    git_commit: str | None = Field(default=None, max_length=64)
    git_branch: str | None = Field(default=None, max_length=255)
    git_dirty: bool | None = None
    host: str | None = Field(default=None, max_length=255)
    pid: int | None = _ID
    workspace: str | None = Field(default=None, max_length=4096)
    pipeline_run_id: int | None = Field(default=None, ge=0, le=2**31 - 1, description="REEFLINE_RUN_ID")
    job_id: int | None = Field(default=None, ge=0, le=2**31 - 1, description="REEFLINE_JOB_ID")
    attempt: int | None = _ID
    artifacts: list[ArtifactIn] = Field(default_factory=list, max_length=MAX_ARTIFACTS)


class ComponentRunOut(BaseModel):
    id: int
    component: str
    linked_job_id: int | None = Field(
        description="the team's job it ran inside; None: none (or not the team's)"
    )


class ComponentOut(BaseModel):
    name: str
    kind: str
    owner: str | None
    description: str | None
    created_at: str | None
    runs: int
    last_status: str | None
    last_run_at: str | None

    @classmethod
    def of(cls, row: Any) -> ComponentOut:
        return cls(
            name=row.name,
            kind=row.kind,
            owner=row.owner,
            description=row.description,
            created_at=iso(row.created_at),
            runs=row.runs,
            last_status=row.last_status,
            last_run_at=iso(row.last_finished_at),
        )


@router.get(COMPONENTS, permission=Permission.PIPELINE_READ, response_model=list[ComponentOut])
def list_components(team: str, conn: Transaction, caller: Caller) -> list[ComponentOut]:
    """The team's components by name, with their number of runs and the last run's status and time."""
    return [ComponentOut.of(row) for row in components.list_components(conn, team_id=caller.team)]


@router.post(
    "/teams/{team}/component-runs",
    permission=Permission.PIPELINE_RUN,
    response_model=ComponentRunOut,
    status_code=201,
)
def record_component_run(
    team: str, body: ComponentRunIn, conn: Transaction, caller: Caller
) -> ComponentRunOut:
    """Record a component run (registering its component if new). The link to a job is kept only
    when that job is in ``pipeline_run_id`` and in this team."""
    spec = ComponentSpec(
        body.component.name, body.component.kind, body.component.owner, body.component.description
    )
    record = RunRecord(
        status=body.status,
        started_at=body.started_at,
        finished_at=body.finished_at,
        exception=body.exception,
        git_commit=body.git_commit,
        git_branch=body.git_branch,
        git_dirty=body.git_dirty,
        host=body.host,
        pid=body.pid,
        workspace=body.workspace,
        job_id=body.job_id,
        attempt=body.attempt,
        artifacts=tuple(ArtifactRecord(**a.model_dump()) for a in body.artifacts),
    )
    run_id, linked = components.record_run_linked(
        conn,
        spec,
        record,
        pipeline_run_id=body.pipeline_run_id,
        team_id=caller.team,
        recorded_by=caller.user.user_id,
    )
    return ComponentRunOut(id=run_id, component=spec.name, linked_job_id=linked)
