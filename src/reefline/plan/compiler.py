"""Compile a validated :class:`Pipeline` and resolved params into a :class:`Plan`.

Pure: no files are read. The linter has already rejected unknown references, cycles and bad
types; what can still go wrong here only shows after rendering with this run's params and matrix
values (a path leaving the workspace, two steps writing one path) and is raised as
:class:`PlanError` with the field path of its cause.

Linear in the number of steps plus explicit edges: stage order becomes one barrier per stage
(:mod:`reefline.plan.stages`), never an edge per pair of steps.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reefline.plan.checks import check_paths
from reefline.plan.errors import PlanError
from reefline.plan.graph import topological_order
from reefline.plan.ir import (
    Command,
    ImageRef,
    InputRef,
    OutputRef,
    Plan,
    PythonCommand,
    Readiness,
    Resources,
    RetryPolicy,
    Service,
    ShellCommand,
    Step,
    When,
)
from reefline.plan.matrix import Expansion, expand, format_value
from reefline.plan.stages import build_barriers, dependency_graph, previous_stages
from reefline.spec.durations import parse_duration
from reefline.spec.expressions import ExpressionError, evaluate, parse_expression
from reefline.spec.models import Image, Job, Pipeline, Retry, job_executor, job_image
from reefline.spec.models import Resources as ResourcesSpec
from reefline.spec.models import Service as ServiceSpec
from reefline.spec.quantities import parse_memory
from reefline.spec.templating import TemplateError, render

METRICS_OUTPUT = "metrics"
METRICS_TYPE = "metrics/json"

__all__ = ["METRICS_OUTPUT", "METRICS_TYPE", "PlanError", "compile_plan"]


@dataclass(frozen=True, slots=True)
class _Node:
    job_name: str
    job: Job
    expansion: Expansion
    stage: str


class _Producers:
    """The expansions of a job that feed a consumer expansion (``from:``), found by their values on
    the matrix keys the two share (what :func:`matches` compares) instead of a scan of every one:
    a consumer matrix of N reading a producer matrix of N stays linear."""

    def __init__(self, by_job: Mapping[str, list[_Node]]) -> None:
        self._by_job = by_job
        self._index: dict[tuple[str, tuple[str, ...]], dict[tuple[Any, ...], list[_Node]]] = {}

    def feeding(self, producer_job: str, consumer: Mapping[str, Any]) -> list[_Node]:
        nodes = self._by_job[producer_job]
        keys = tuple(k for k, _ in nodes[0].expansion.values if k in consumer)
        index = self._index.get((producer_job, keys))
        if index is None:
            index = {}
            for node in nodes:
                values = node.expansion.as_dict()
                index.setdefault(tuple(values[k] for k in keys), []).append(node)
            self._index[(producer_job, keys)] = index
        return index.get(tuple(consumer[k] for k in keys), [])


def compile_plan(pipeline: Pipeline, params: Mapping[str, Any]) -> Plan:
    base = {"params": dict(params)}
    variables = {k: _render(str(v), base, ("variables", k)) for k, v in pipeline.variables.items()}
    nodes = _expand_jobs(pipeline)
    by_job: dict[str, list[_Node]] = {}
    by_stage: dict[str, list[str]] = {}
    for node in nodes:
        by_job.setdefault(node.job_name, []).append(node)
        by_stage.setdefault(node.stage, []).append(node.expansion.step_id)
    previous = previous_stages(pipeline.stages, by_stage)
    outputs_of = {node.expansion.step_id: _outputs(node, params, variables) for node in nodes}

    steps: dict[str, Step] = {}
    producers = _Producers(by_job)
    for node in nodes:
        steps[node.expansion.step_id] = _compile_step(
            pipeline=pipeline,
            node=node,
            by_job=by_job,
            producers=producers,
            outputs_of=outputs_of,
            params=params,
            variables=variables,
            after_stage=previous[node.stage] if node.job.needs is None else None,
        )
    check_paths(steps.values(), METRICS_OUTPUT)
    barriers = build_barriers(pipeline.stages, by_stage, previous, steps.values())
    order = topological_order(dependency_graph(steps.values(), barriers))
    return Plan(
        pipeline=pipeline.name,
        steps=tuple(steps[sid] for sid in order if sid in steps),
        params=tuple(sorted(params.items())),
        barriers=barriers,
    )


def _render(template: str, context: Mapping[str, Any], where: tuple[str | int, ...]) -> str:
    try:
        return render(template, context)
    except TemplateError as exc:
        raise PlanError(f"cannot render {template!r}: {exc}", path=where, code="RL403") from None


def _expand_jobs(pipeline: Pipeline) -> list[_Node]:
    first_stage = pipeline.stages[0]
    return [
        _Node(name, job, expansion, job.stage or first_stage)
        for name, job in pipeline.jobs.items()
        for expansion in expand(name, job.matrix)
    ]


def _context(node: _Node, params: Mapping[str, Any], variables: Mapping[str, str]) -> dict[str, Any]:
    return {
        "params": dict(params),
        "variables": dict(variables),
        "matrix": {k: format_value(v) for k, v in node.expansion.values},
        "job": {"name": node.expansion.step_id},
    }


def _outputs(node: _Node, params: Mapping[str, Any], variables: Mapping[str, str]) -> list[OutputRef]:
    context = _context(node, params, variables)
    base = ("jobs", node.job_name)
    outs = [
        OutputRef(name, _render(art.path, context, (*base, "outputs", name, "path")), art.type)
        for name, art in node.job.outputs.items()
    ]
    if node.job.metrics:
        outs.append(
            OutputRef(METRICS_OUTPUT, _render(node.job.metrics, context, (*base, "metrics")), METRICS_TYPE)
        )
    return outs


def _compile_step(
    *,
    pipeline: Pipeline,
    node: _Node,
    by_job: Mapping[str, list[_Node]],
    producers: _Producers,
    outputs_of: Mapping[str, list[OutputRef]],
    params: Mapping[str, Any],
    variables: Mapping[str, str],
    after_stage: str | None,
) -> Step:
    job = node.job
    sid = node.expansion.step_id
    matrix = node.expansion.as_dict()
    context = _context(node, params, variables)

    needs: dict[str, None] = {}  # ordered set; stage order is `after_stage`, not edges
    if job.needs is not None:
        for name in job.needs:
            for other_node in by_job[name]:
                needs[other_node.expansion.step_id] = None

    inputs: list[InputRef] = []
    for name, decl in job.inputs.items():
        if decl.from_ is None:
            path = _render(decl.path or "", context, ("jobs", node.job_name, "inputs", name, "path"))
            inputs.append(InputRef(name, (path,), decl.type or "file"))
            continue
        producer_job, output_name = decl.from_.split(".", 1)
        feeding = producers.feeding(producer_job, matrix)
        refs: list[tuple[str, str]] = []
        paths: list[str] = []
        out_type = decl.type or "file"
        for producer in feeding:
            pid = producer.expansion.step_id
            out = next(o for o in outputs_of[pid] if o.name == output_name)
            refs.append((pid, output_name))
            paths.append(out.path)
            out_type = decl.type or out.type
            needs[pid] = None
        inputs.append(InputRef(name, tuple(paths), out_type, tuple(refs)))

    outputs = outputs_of[sid]
    context["inputs"] = {i.name: {"path": list(i.paths) if len(i.paths) > 1 else i.paths[0]} for i in inputs}
    context["outputs"] = {o.name: {"path": o.path} for o in outputs}

    command = _command(job, context)
    env = _env(pipeline, job, context, variables)
    if job.run is not None:
        # A Python entry point receives every param (or those its `params:` lists), so each one is
        # part of its definition; a script depends only on the params its lines mention.
        used = params if job.params is None else {k: params[k] for k in job.params}
        env["REEFLINE_CONTEXT"] = _python_context(sid, inputs, outputs, used, matrix)
    env_items = tuple(sorted(env.items()))
    image = _image(job_image(pipeline, job), context)
    resources = _resources(job.resources if job.resources is not None else pipeline.defaults.resources)
    services = tuple(_service(n, s, context) for n, s in (job.services or {}).items())
    return Step(
        id=sid,
        job=node.job_name,
        stage=node.stage,
        command=command,
        env=env_items,
        needs=tuple(needs),
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        metrics=METRICS_OUTPUT if job.metrics else None,
        matrix=tuple((k, format_value(v)) for k, v in node.expansion.values),
        timeout=_timeout(pipeline, job),
        retry=_retry(job.retry if job.retry is not None else pipeline.defaults.retry),
        allow_failure=job.allow_failure,
        when=When(job.when),
        skip_reason=_skip_reason(node.job_name, job, context),
        cache=_pick(job.cache, pipeline.defaults.cache, True),
        after_stage=after_stage,
        definition_hash=_definition_hash(
            command, env=env_items, inputs=inputs, outputs=outputs, image=image, services=services
        ),
        executor=job_executor(pipeline, job),
        image=image,
        resources=resources,
        services=services,
        network=job.network if job.network is not None else pipeline.defaults.network,
        sandbox=job.sandbox if job.sandbox is not None else pipeline.defaults.sandbox,
    )


def _image(spec: Image | None, context: Mapping[str, Any]) -> ImageRef | None:
    if spec is None:
        return None
    return ImageRef(render(spec.name, context), spec.pull)


def _resources(spec: ResourcesSpec | None) -> Resources:
    if spec is None:
        return Resources()
    memory = None if spec.memory is None else parse_memory(spec.memory)
    return Resources(cpus=spec.cpus, memory_bytes=memory)


def _service(name: str, spec: ServiceSpec, context: Mapping[str, Any]) -> Service:
    image = _image(Image(name=spec.image) if isinstance(spec.image, str) else spec.image, context)
    assert image is not None
    command: tuple[str, ...] | None = None
    if isinstance(spec.command, str):
        command = tuple(shlex.split(render(spec.command, context)))
    elif spec.command is not None:
        command = tuple(render(str(arg), context) for arg in spec.command)
    ready = None
    if spec.ready is not None:
        ready = Readiness(spec.ready.port, spec.ready.command, parse_duration(spec.ready.timeout))
    env = tuple(sorted((k, render(format_value(v), context)) for k, v in spec.env.items()))
    return Service(name, image, env, command, ready)


def _command(job: Job, context: Mapping[str, Any]) -> Command:
    if job.run is not None:
        return PythonCommand(render(job.run, context))
    return ShellCommand(tuple(render(line, context) for line in job.script_lines()))


def _env(
    pipeline: Pipeline, job: Job, context: Mapping[str, Any], variables: Mapping[str, str]
) -> dict[str, str]:
    env: dict[str, str] = dict(variables)
    for key, value in {**pipeline.defaults.env, **job.env}.items():
        env[key] = render(format_value(value), context)
    env["REEFLINE_JOB"] = context["job"]["name"]
    return env


def _python_context(
    sid: str,
    inputs: list[InputRef],
    outputs: list[OutputRef],
    params: Mapping[str, Any],
    matrix: Mapping[str, Any],
) -> str:
    """What :mod:`reefline.executors.entrypoint` hands to the function, as JSON."""
    return json.dumps(
        {
            "job": sid,
            "inputs": {i.name: list(i.paths) if len(i.paths) > 1 else i.paths[0] for i in inputs},
            "outputs": {o.name: o.path for o in outputs},
            "params": dict(params),
            "matrix": dict(matrix),
        },
        sort_keys=True,
        default=str,
    )


def _timeout(pipeline: Pipeline, job: Job) -> float | None:
    value = job.timeout if job.timeout is not None else pipeline.defaults.timeout
    return None if value is None else parse_duration(value)


def _retry(value: Retry | int | None) -> RetryPolicy:
    if value is None:
        return RetryPolicy()
    if isinstance(value, int):
        return RetryPolicy(max=value)
    return RetryPolicy(max=value.max, delay=parse_duration(value.delay), backoff=value.backoff)


def _skip_reason(name: str, job: Job, context: Mapping[str, Any]) -> str | None:
    if job.if_ is None:
        return None
    try:
        true = evaluate(parse_expression(job.if_), context)
    except ExpressionError as exc:
        raise PlanError(f"if: {exc}", path=("jobs", name, "if"), code="RL401") from None
    if true:
        return None
    return f"if: {job.if_.strip()} is false"


def _pick(*values: bool | None) -> bool:
    return next(v for v in values if v is not None)


def _definition_hash(
    command: Command,
    *,
    env: tuple[tuple[str, str], ...],
    inputs: list[InputRef],
    outputs: list[OutputRef],
    image: ImageRef | None,
    services: tuple[Service, ...],
) -> str:
    """Hash what defines the work: command, environment, inputs, outputs and the image by name;
    not policies. The image's content id is not known here (the compiler is pure): the engine adds
    it to the cache key (:func:`reefline.engine.cache.prepare`)."""
    doc: dict[str, Any] = {
        "command": {"script": list(command.lines)}
        if isinstance(command, ShellCommand)
        else {"run": command.entry},
        "env": env,
        "inputs": [(i.name, i.paths, i.type) for i in inputs],
        "outputs": [(o.name, o.path, o.type) for o in outputs],
    }
    if image is not None:  # only then: a local job's hash stays what it was before images existed
        doc["image"] = image.name
    if services:
        doc["services"] = [(s.name, s.image.name, s.env, s.command) for s in services]
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()
