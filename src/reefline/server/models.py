"""The API's response shapes (pydantic): a documented contract, shown in the OpenAPI schema."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic.config import JsonDict


def json_of(value: BaseModel | list[Any], model: type[BaseModel] | None = None) -> Response:
    """An answer serialized once by pydantic: FastAPI would validate a returned model again against the
    route's ``response_model`` (which stays, for the OpenAPI document)."""
    if isinstance(value, list):
        item: type[BaseModel] = model or (type(value[0]) if value else BaseModel)
        body = _list_adapter(item).dump_json(value)
    else:
        body = value.model_dump_json().encode()
    return Response(content=body, media_type="application/json")


@functools.cache
def _list_adapter(item: type[BaseModel]) -> TypeAdapter[list[Any]]:
    """Built once per model: building a TypeAdapter costs more than serializing a page of runs."""
    return TypeAdapter(list[item])  # type: ignore[valid-type]


class ErrorDetail(BaseModel):
    code: str = Field(description="machine-readable kind: not_found, conflict, invalid, forbidden, …")
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorResponse(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: str
    version: str
    role: str
    database: str


class DiagnosticOut(BaseModel):
    code: str
    severity: str
    message: str
    hint: str | None = None
    file: str
    line: int
    col: int
    end_line: int | None = None
    end_col: int | None = None
    path: list[str | int] = Field(default_factory=list)


class ValidationOut(BaseModel):
    file: str
    valid: bool
    jobs: int | None
    definitions: int | None
    diagnostics: list[DiagnosticOut]


class ValidateIn(BaseModel):
    text: str = Field(description="the YAML of a pipeline", max_length=5_000_000)
    file: str = Field(default="reefline.yaml", max_length=500, description="the name diagnostics use")


NAME_RULE: JsonDict = {"pattern": "^[a-z0-9][a-z0-9._-]{0,62}$"}
"""Documents the rule of user, team, role and board names; the services check it with friendlier
messages than a schema error, so it is not enforced here."""
LABEL_RULE: JsonDict = {"pattern": "^[ -~]{1,100}$"}
"""Documents token names: printable text (the service accepts any printable characters)."""

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in (
        (400, "bad request"),
        (401, "not signed in"),
        (403, "not allowed"),
        (404, "not found (or of a team you are not in)"),
        (409, "conflict"),
        (422, "invalid input"),
    )
}


class LogLineOut(BaseModel):
    job: str
    attempt: int
    seq: int
    ts: float
    stream: str
    text: str


class TeamRoleOut(BaseModel):
    name: str
    role: str | None


class MeOut(BaseModel):
    id: int
    username: str
    display_name: str | None
    is_admin: bool
    teams: list[TeamRoleOut]


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: float
    expires_at: float | None
    last_used_at: float | None
    revoked_at: float | None

    @classmethod
    def of(cls, row: Any) -> TokenOut:
        return cls.model_validate(row, from_attributes=True)


class TeamOut(BaseModel):
    id: int
    name: str
    role: str | None = Field(description="your role in it (None: you see it as a site admin)")


class MemberOut(BaseModel):
    username: str
    display_name: str | None
    role: str
    since: float

    @classmethod
    def of(cls, row: Any) -> MemberOut:
        return cls(
            username=row.username, display_name=row.display_name, role=row.role_name, since=row.created_at
        )


class RoleOut(BaseModel):
    name: str
    builtin: bool
    permissions: list[str]

    @classmethod
    def of(cls, row: Any) -> RoleOut:
        return cls(name=row.name, builtin=row.builtin, permissions=list(row.permissions))


class AuditOut(BaseModel):
    id: int
    at: float
    user: str | None
    action: str
    target: str
    details: dict[str, Any]
    remote: str | None

    @classmethod
    def of(cls, row: Any) -> AuditOut:
        return cls(
            id=row.id,
            at=row.at,
            user=row.username,
            action=row.action,
            target=row.target,
            details=row.details,
            remote=row.remote,
        )


class BoardOut(BaseModel):
    id: int
    name: str
    description: str | None
    created_at: float

    @classmethod
    def of(cls, row: Any) -> BoardOut:
        return cls(id=row.id, name=row.name, description=row.description, created_at=row.created_at)


class PipelineOut(BaseModel):
    id: int
    name: str
    board: str | None
    current_revision: int | None
    created_at: float

    @classmethod
    def of(cls, row: Any) -> PipelineOut:
        return cls(
            id=row.id,
            name=row.name,
            board=row.board_name,
            current_revision=row.current_revision,
            created_at=row.created_at,
        )


class RevisionOut(BaseModel):
    number: int
    spec_hash: str
    author: str | None
    message: str | None
    created_at: float
    source_sha256: str | None
    source_size: int | None
    rollback_of: int | None
    spec_text: str | None = Field(default=None, description="the YAML (only when one revision is asked for)")

    @classmethod
    def of(cls, row: Any, *, with_text: bool = False) -> RevisionOut:
        return cls(
            number=row.number,
            spec_hash=row.spec_hash,
            author=row.author,
            message=row.message,
            created_at=row.created_at,
            source_sha256=row.source_sha256,
            source_size=row.source_size,
            rollback_of=row.rollback_of,
            spec_text=row.spec_text if with_text else None,
        )


class PushOut(BaseModel):
    pipeline: PipelineOut
    revision: RevisionOut
    created: bool = Field(description="False: the text and source equal the current revision's")
    warnings: list[DiagnosticOut]

    @classmethod
    def of(cls, result: Any) -> PushOut:
        return cls(
            pipeline=PipelineOut.of(result.pipeline),
            revision=RevisionOut.of(result.revision),
            created=result.created,
            warnings=[DiagnosticOut.model_validate(d.to_json()) for d in result.warnings],
        )


class SecretOut(BaseModel):
    name: str
    board: str | None
    pipeline: str | None
    created_at: float
    updated_at: float
    updated_by: str | None

    @classmethod
    def of(cls, row: Any) -> SecretOut:
        return cls(
            name=row.name,
            board=row.board_name,
            pipeline=row.pipeline_name,
            created_at=row.created_at,
            updated_at=row.updated_at,
            updated_by=row.updated_by_name,
        )


class DiffOut(BaseModel):
    a: int
    b: int
    diff: str = Field(description="unified diff of the YAML, headed `rev A` / `rev B`; empty when equal")


class RangeOut(BaseModel):
    """A source range in the YAML: 1-based lines and columns, end exclusive (as in diagnostics)."""

    line: int
    col: int
    end_line: int
    end_col: int


class FieldRangeOut(BaseModel):
    """Where one field of a job sits: its key and its value (either may be unknown)."""

    key: RangeOut | None
    value: RangeOut | None


class GraphPortOut(BaseModel):
    """An input or output of a job in the editor graph."""

    model_config = ConfigDict(serialize_by_alias=True)

    name: str
    type: str | None = Field(description="the artifact type (an input without one takes its producer's)")
    path: str | None
    from_: str | None = Field(serialization_alias="from", description="inputs only: `job.output`")
    range: RangeOut | None = Field(description="the port's key in the YAML")


class GraphJobOut(BaseModel):
    """A node of the editor graph."""

    name: str
    stage: str
    description: str | None
    needs: list[str]
    inputs: list[GraphPortOut]
    outputs: list[GraphPortOut] = Field(description="declared outputs, plus `metrics` when the job has one")
    matrix_size: int = Field(description="how many jobs its matrix expands to (1 without one)")
    range: RangeOut | None = Field(description="the job's key")
    whole: RangeOut | None = Field(description="from the job's key to the end of its value")
    fields: dict[str, FieldRangeOut] = Field(description="every key the job's YAML sets, with its ranges")


class GraphEdgeOut(BaseModel):
    """``artifact``: ``from_job.from_output`` feeds ``to_job.to_input`` (typed); ``needs``: a plain
    dependency, listed only between jobs that no artifact edge already joins."""

    kind: str = Field(description="artifact or needs")
    from_job: str
    to_job: str
    from_output: str | None = None
    to_input: str | None = None
    type: str | None = None


class GraphParamOut(BaseModel):
    """A param of the Run form."""

    name: str
    type: str = Field(description="str, int, float, bool or list")
    default: Any = None
    choices: list[Any] | None
    description: str | None


class PaletteTypeOut(BaseModel):
    name: str
    extends: str | None
    description: str | None
    custom: bool = Field(description="declared in the spec's `types:` (else predefined)")


class SpecGraphOut(BaseModel):
    """What the visual editor draws, and the validator's diagnostics. Also for an invalid or
    half-typed spec: ``recovered`` says lines were left out to read it."""

    name: str | None
    stages: list[str] = Field(description="in order: declared, then any a job names that is not declared")
    jobs: list[GraphJobOut]
    edges: list[GraphEdgeOut]
    params: list[GraphParamOut]
    types: list[PaletteTypeOut] = Field(description="the type palette: predefined, then the spec's own")
    recovered: bool
    valid: bool
    diagnostics: list[DiagnosticOut]

    @classmethod
    def of(cls, found: Any) -> SpecGraphOut:
        """From a :class:`~reefline.services.spec_graph.GraphReport`."""
        graph = found.graph
        return cls(
            name=graph.name,
            stages=graph.stages,
            jobs=[GraphJobOut.model_validate(j, from_attributes=True) for j in graph.jobs],
            edges=[GraphEdgeOut.model_validate(e, from_attributes=True) for e in graph.edges],
            params=[GraphParamOut.model_validate(p, from_attributes=True) for p in graph.params],
            types=[PaletteTypeOut.model_validate(t, from_attributes=True) for t in graph.types],
            recovered=graph.recovered,
            valid=found.report.valid,
            diagnostics=[DiagnosticOut.model_validate(d.to_json()) for d in found.report.diagnostics],
        )


class SpecEditOut(BaseModel):
    """The edited YAML, and the graph and diagnostics of the result."""

    text: str
    changed: bool = Field(description="False: the edits left the text as it was")
    graph: SpecGraphOut


class RecentRunOut(BaseModel):
    """One of a pipeline's recent runs, for its board card and sparkline."""

    id: int
    state: str
    duration: float | None = Field(
        description="seconds; up to now for a run still going; null if not started"
    )
    created_at: str
    finished_at: str | None

    @classmethod
    def of(cls, run: Any) -> RecentRunOut:
        from reefline.services.timefmt import duration_seconds, iso

        return cls(
            id=run.id,
            state=run.state,
            duration=duration_seconds(run.started_at, run.finished_at),
            created_at=iso(run.created_at) or "",
            finished_at=iso(run.finished_at),
        )


class PipelineSummaryOut(PipelineOut):
    """A pipeline on a board: its last run, and its recent runs for a sparkline."""

    last_run: RecentRunOut | None = Field(description="the newest run (it may still be going)")
    recent_runs: list[RecentRunOut] = Field(
        description="up to the 20 newest runs, OLDEST first (left to right)"
    )

    @classmethod
    def of_summary(cls, summary: Any) -> PipelineSummaryOut:
        recent = [RecentRunOut.of(r) for r in summary.recent]
        return cls(
            **PipelineOut.of(summary.pipeline).model_dump(),
            last_run=recent[0] if recent else None,
            recent_runs=recent[::-1],
        )


class ComparedRunOut(BaseModel):
    id: int
    pipeline: str
    state: str
    created_at: str


class ComparedRowOut(BaseModel):
    """One param or metric across the compared runs: ``values[i]`` is run ``i``'s (null: it has none)."""

    key: str
    values: list[Any]
    differs: bool


class CompareOut(BaseModel):
    """Runs side by side: their params and their metrics, one row per key, sorted by key. A metric
    that several jobs of a run report (a matrix job) has a row per job: ``name [job]``."""

    runs: list[ComparedRunOut]
    params: list[ComparedRowOut]
    metrics: list[ComparedRowOut]

    @classmethod
    def of(cls, comparison: Any) -> CompareOut:
        from reefline.services.timefmt import iso

        def rows(found: list[Any]) -> list[ComparedRowOut]:
            return [ComparedRowOut(key=r.key, values=r.values, differs=r.differs) for r in found]

        return cls(
            runs=[
                ComparedRunOut(
                    id=r.id, pipeline=r.pipeline, state=r.state, created_at=iso(r.created_at) or ""
                )
                for r in comparison.runs
            ],
            params=rows(comparison.params),
            metrics=rows(comparison.metrics),
        )


class MetricPointOut(BaseModel):
    run_id: int
    created_at: str
    job: str = Field(description="the job that reported it, e.g. train[model=tree]")
    value: float


class MetricHistoryOut(BaseModel):
    """A metric across the pipeline's newest runs that reported it, oldest first (for a plot)."""

    key: str
    points: list[MetricPointOut]


class TraceLinkOut(BaseModel):
    """An input or output of a frame's job; ``frame``: the number of the frame that made it."""

    name: str
    path: str
    type: str
    sha256: str
    size: int
    frame: int | None
    stale: str | None = Field(description="why this input is stale, if it is")
    producer_run: int | None
    producer_component_run: int | None = Field(
        default=None, description="the component run that made it (also beyond the depth limit)"
    )
    uri: str | None = Field(
        default=None, description="an output: where the artifact store keeps it (null: not kept)"
    )


class TraceFrameOut(BaseModel):
    """One job of a trace (or one component run: a call of a function decorated with
    ``@reefline.component``), with the code version, params and author of its run."""

    number: int
    job_id: int | None = Field(description="a component frame: the job it ran inside")
    job: str = Field(description="the step id, e.g. train[model=tree]; a component frame: its name")
    run_id: int
    pipeline: str | None
    at: str | None = Field(description="when the job finished (or started)")
    commit: str | None
    branch: str | None
    dirty: bool | None
    author: str
    params: dict[str, Any]
    cached_from_run: int | None
    cached_from_job_id: int | None
    stale: list[str] = Field(description="why the frame is stale (its definition changed since, …)")
    inputs: list[TraceLinkOut]
    outputs: list[TraceLinkOut]
    derived_from: int | None = Field(description="forward traces: the frame whose output this job read")
    kind: str = Field(default="job", description="job, or component (a run of an @reefline.component)")
    component_run_id: int | None = None
    in_job: str | None = Field(default=None, description="a component frame: the step id of its job")
    status: str | None = Field(default=None, description="a component frame: success or failed")
    exception: str | None = Field(default=None, description="a failed component: its exception's last line")
    code: dict[str, Any] | None = Field(
        default=None,
        description="the code the job's attempt ran: {script_sha256} or {entry, modules: {path: sha256}},"
        " with image_id for a container step when known; null: not recorded",
    )


class TraceOut(BaseModel):
    """``reefline trace`` of a run's output: frames from its producer back to the sources (or forward
    to what it fed). Frames of runs in teams you are not in are left out (``hidden`` counts them)."""

    target: str
    sha256: str
    direction: str = Field(description="back or forward")
    truncated: bool = Field(description="the depth limit stopped it before the end")
    hidden: int
    frames: list[TraceFrameOut]


class RunOutputOut(BaseModel):
    """An output a run's job recorded; ``download``: the URL of its bytes (a directory: a tar)."""

    id: int
    job: str = Field(description="the step id of the job that recorded it, e.g. train[model=tree]")
    name: str
    path: str
    type: str
    sha256: str
    size: int
    download: str = Field(description="GET it for the content: /api/runs/{run_id}/outputs/{id}/content")


class ReproductionOutputOut(BaseModel):
    job: str
    output: str
    path: str
    original_sha256: str
    new_sha256: str | None = Field(description="null: the reproduction did not record it (yet)")
    verdict: str = Field(description="identical, different or missing")


class ReproductionOut(BaseModel):
    """A reproduction's outputs beside the original run's, one per output the original recorded."""

    run_id: int
    original_run_id: int
    state: str
    finished: bool = Field(description="the reproduction has ended (its verdicts are final)")
    identical: bool = Field(description="finished, and every output came out byte-identical")
    outputs: list[ReproductionOutputOut]


class GcIn(BaseModel):
    keep_last: int = Field(
        ge=0, le=1_000_000, description="keep what each pipeline's newest N finished runs use"
    )
    dry_run: bool = Field(default=False, description="report what would be removed; delete nothing")


class GcOut(BaseModel):
    """``reefline gc`` of the server's artifact store, over every team's runs."""

    dry_run: bool
    kept_runs: int = Field(description="how many runs' references were kept")
    kept: int = Field(description="stored objects kept")
    removed: int = Field(description="stored objects removed (or, on a dry run, that would be)")
    bytes_freed: int = Field(description="their size in bytes")
