"""The graph the visual editor draws, read from the raw YAML tree so that a half-typed spec still has one.

Stages in order, jobs (with their ports and the source range of every field), typed artifact edges
(``from: job.output`` → input), plain ``needs`` edges, the params of the Run form and the type palette.
Nothing here validates: unknown jobs, outputs and types are left out of the edges and reported by the
validator, whose diagnostics the API sends beside the graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reefline.spec.diagnostics import FieldPath
from reefline.spec.matrix_size import expansion_count
from reefline.spec.params import infer_type
from reefline.spec.tolerant import Tree
from reefline.spec.types import PREDEFINED
from reefline.spec.yaml_source import SourceMap, Span

DEFAULT_STAGE = "default"
METRICS_OUTPUT = "metrics"  # `metrics: path` is an output of this name and type (plan/compiler.py)
METRICS_TYPE = "metrics/json"
DEFAULT_OUTPUT_TYPE = "file"


@dataclass(frozen=True, slots=True)
class Range:
    """1-based lines and columns, end exclusive (the diagnostics' convention)."""

    line: int
    col: int
    end_line: int
    end_col: int

    @staticmethod
    def of(span: Span | None) -> Range | None:
        return Range(span.line, span.col, span.end_line, span.end_col) if span is not None else None


@dataclass(frozen=True, slots=True)
class FieldRange:
    key: Range | None
    value: Range | None


@dataclass(frozen=True, slots=True)
class Port:
    name: str
    type: str | None  # an input without `type:` takes its producer's, when that is known
    path: str | None
    from_: str | None  # inputs only: "job.output"
    range: Range | None  # the port's key


@dataclass(frozen=True, slots=True)
class GraphJob:
    name: str
    stage: str
    description: str | None
    needs: list[str]
    inputs: list[Port]
    outputs: list[Port]
    matrix_size: int
    range: Range | None  # the job's key
    whole: Range | None  # from the key to the end of its value
    fields: dict[str, FieldRange]


@dataclass(frozen=True, slots=True)
class Edge:
    kind: str  # "artifact" or "needs"
    from_job: str
    to_job: str
    from_output: str | None = None
    to_input: str | None = None
    type: str | None = None


@dataclass(frozen=True, slots=True)
class GraphParam:
    name: str
    type: str
    default: Any
    choices: list[Any] | None
    description: str | None


@dataclass(frozen=True, slots=True)
class PaletteType:
    name: str
    extends: str | None
    description: str | None
    custom: bool


@dataclass(slots=True)
class SpecGraph:
    name: str | None
    stages: list[str]
    jobs: list[GraphJob]
    edges: list[Edge]
    params: list[GraphParam]
    types: list[PaletteType]
    recovered: bool = False  # the YAML did not parse as is: lines were left out or an older tree used


def build_graph(tree: Tree) -> SpecGraph:
    """The graph of a (possibly recovered) tree; never raises on odd shapes."""
    data = tree.data if isinstance(tree.data, dict) else {}
    source = tree.source
    declared = [str(s) for s in _list(data.get("stages")) if isinstance(s, str | int | float)]
    stages = list(dict.fromkeys(declared)) or [DEFAULT_STAGE]
    raw_jobs = _mapping(data.get("jobs"))
    jobs = [_job(name, job, stages[0], source) for name, job in raw_jobs.items()]
    for job in jobs:
        if job.stage not in stages:
            stages.append(job.stage)
    _fill_input_types(jobs)
    name = data.get("name")
    return SpecGraph(
        name=name if isinstance(name, str) else None,
        stages=stages,
        jobs=jobs,
        edges=_edges(jobs),
        params=[_param(n, p) for n, p in _mapping(data.get("params")).items()],
        types=_palette(_mapping(data.get("types"))),
        recovered=not tree.exact,
    )


def _job(name: str, raw: Any, first_stage: str, source: SourceMap) -> GraphJob:
    job = raw if isinstance(raw, dict) else {}
    base: FieldPath = ("jobs", name)
    stage = job.get("stage")
    description = job.get("description")
    outputs = [
        _port(source, (*base, "outputs", out), spec, DEFAULT_OUTPUT_TYPE)
        for out, spec in _mapping(job.get("outputs")).items()
    ]
    metrics = job.get("metrics")
    if "metrics" in job:
        path = metrics if isinstance(metrics, str) else None
        outputs.append(
            Port(METRICS_OUTPUT, METRICS_TYPE, path, None, Range.of(source.keys.get((*base, "metrics"))))
        )
    matrix = job.get("matrix")
    axes = {str(k): v for k, v in matrix.items() if isinstance(v, list)} if isinstance(matrix, dict) else {}
    return GraphJob(
        name=name,
        stage=str(stage) if isinstance(stage, str | int | float) and str(stage) else first_stage,
        description=description if isinstance(description, str) else None,
        needs=[str(n) for n in _list(job.get("needs")) if isinstance(n, str)],
        inputs=[_port(source, (*base, "inputs", i), s, None) for i, s in _mapping(job.get("inputs")).items()],
        outputs=outputs,
        matrix_size=expansion_count(axes),
        range=Range.of(source.keys.get(base)),
        whole=Range.of(_whole(source, base)),
        fields={
            str(key): FieldRange(
                Range.of(source.keys.get((*base, key))), Range.of(source.values.get((*base, key)))
            )
            for key in job
        },
    )


def _port(source: SourceMap, path: FieldPath, raw: Any, default_type: str | None) -> Port:
    spec = raw if isinstance(raw, dict) else {}
    kind, where, origin = spec.get("type"), spec.get("path"), spec.get("from")
    if isinstance(raw, str):  # a bare `name: path` is not valid, but draw it while the user types
        where = raw
    return Port(
        name=str(path[-1]),
        type=kind if isinstance(kind, str) and kind else default_type,
        path=where if isinstance(where, str) else None,
        from_=origin if isinstance(origin, str) else None,
        range=Range.of(source.keys.get(path)),
    )


def _fill_input_types(jobs: list[GraphJob]) -> None:
    outputs = {(j.name, o.name): o for j in jobs for o in j.outputs}
    for job in jobs:
        for i, port in enumerate(job.inputs):
            producer = outputs.get(_ref(port.from_)) if port.from_ else None
            if port.type is None and producer is not None:
                job.inputs[i] = Port(port.name, producer.type, port.path, port.from_, port.range)


def _edges(jobs: list[GraphJob]) -> list[Edge]:
    """Artifact edges between known ports, then ``needs`` edges between jobs no artifact edge joins."""
    outputs = {(j.name, o.name): o for j in jobs for o in j.outputs}
    names = {j.name for j in jobs}
    edges: list[Edge] = []
    joined: set[tuple[str, str]] = set()
    for job in jobs:
        for port in job.inputs:
            ref = _ref(port.from_)
            producer = outputs.get(ref)
            if producer is None:
                continue
            edges.append(Edge("artifact", ref[0], job.name, ref[1], port.name, producer.type))
            joined.add((ref[0], job.name))
    for job in jobs:
        for need in dict.fromkeys(job.needs):
            if need in names and (need, job.name) not in joined:
                edges.append(Edge("needs", need, job.name))
    return edges


def _ref(value: str | None) -> tuple[str, str]:
    producer, _, output = (value or "").partition(".")
    return producer.strip(), output.strip()


def _param(name: str, raw: Any) -> GraphParam:
    if isinstance(raw, dict):
        default = raw.get("default")
        declared = raw.get("type")
        choices = raw.get("choices")
        description = raw.get("description")
        return GraphParam(
            name=name,
            type=str(declared) if isinstance(declared, str) else infer_type(default),
            default=default,
            choices=list(choices) if isinstance(choices, list) else None,
            description=description if isinstance(description, str) else None,
        )
    return GraphParam(name=name, type=infer_type(raw), default=raw, choices=None, description=None)


def _palette(custom: dict[str, Any]) -> list[PaletteType]:
    found = [PaletteType(t.name, t.extends, t.description, False) for t in PREDEFINED.values()]
    for name, raw in custom.items():
        if name in PREDEFINED:
            continue  # a custom type may not redefine a predefined one; the linter says so
        spec = raw if isinstance(raw, dict) else {}
        extends, description = spec.get("extends", DEFAULT_OUTPUT_TYPE), spec.get("description")
        found.append(
            PaletteType(
                name,
                extends if isinstance(extends, str) else None,
                description if isinstance(description, str) else None,
                True,
            )
        )
    return found


def _whole(source: SourceMap, path: FieldPath) -> Span | None:
    key, value = source.keys.get(path), source.values.get(path)
    if key is None:
        return value
    if value is None or (value.end_line, value.end_col) < (key.end_line, key.end_col):
        return key
    return Span(key.line, key.col, value.end_line, value.end_col)


def _mapping(value: Any) -> dict[str, Any]:
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
