"""Checks of what strings refer to: ``${{ }}`` templates and ``if:`` expressions."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from reefline.spec.diagnostics import FieldPath
from reefline.spec.expression_types import check_types, param_type_word
from reefline.spec.expressions import ExpressionError, parse_expression, ref_nodes
from reefline.spec.lint_report import Reporter, did_you_mean
from reefline.spec.models import Job, Pipeline
from reefline.spec.params import param_specs
from reefline.spec.templating import TemplateRef, scan

_ROOTS = ("params", "variables", "matrix", "inputs", "outputs", "job")


@dataclass(frozen=True, slots=True)
class Scope:
    """What a string at some place may refer to; None means "not available here"."""

    where: str
    params: frozenset[str]
    variables: frozenset[str]
    matrix: frozenset[str] | None = None
    inputs: frozenset[str] | None = None
    outputs: frozenset[str] | None = None
    job: bool = False


def _named(
    kind: str, name: str, parts: tuple[str, ...], declared: frozenset[str]
) -> tuple[str, str | None] | None:
    if not parts:
        return f"'{kind}' needs a name, e.g. {kind}.x", None
    if parts[0] not in declared:
        singular = {"params": "param", "variables": "variable", "matrix": "matrix key"}[kind]
        hint = did_you_mean(parts[0], declared) or (
            f"declared: {', '.join(sorted(declared))}" if declared else f"no {kind} are declared"
        )
        return f"undefined {singular} '{parts[0]}' in {name}", hint
    if len(parts) > 1:
        return f"'{kind}.{parts[0]}' has no field '{parts[1]}' in {name}", f"write {kind}.{parts[0]}"
    return None


def _artifact(
    kind: str, name: str, parts: tuple[str, ...], declared: frozenset[str] | None, scope: Scope
) -> tuple[str, str | None] | None:
    if declared is None:
        return f"'{kind}' is not available in {scope.where} ({name})", None
    singular = kind[:-1]
    if not parts or parts[0] not in declared:
        shown = parts[0] if parts else ""
        hint = did_you_mean(shown, declared) or (
            f"declared {kind}: {', '.join(sorted(declared))}" if declared else f"the job declares no {kind}"
        )
        return f"undefined {singular} '{shown}' in {name}", hint
    if parts[1:] != ("path",):
        return f"write {kind}.{parts[0]}.path in {name}", f"{kind}.<name>.path is the only field"
    return None


def check_ref(ref: TemplateRef, scope: Scope) -> tuple[str, str | None] | None:
    """(message, hint) when ``ref`` is not defined in ``scope``."""
    name = ref.source
    if ref.root == "params":
        return _named("params", name, ref.parts, scope.params)
    if ref.root == "variables":
        return _named("variables", name, ref.parts, scope.variables)
    if ref.root == "matrix":
        if scope.matrix is None:
            return (
                f"'matrix' is not available in {scope.where} ({name})",
                "only jobs with `matrix:` have values",
            )
        return _named("matrix", name, ref.parts, scope.matrix)
    if ref.root in ("inputs", "outputs"):
        return _artifact(
            ref.root, name, ref.parts, scope.inputs if ref.root == "inputs" else scope.outputs, scope
        )
    if ref.root == "job":
        if not scope.job:
            return f"'job' is not available in {scope.where} ({name})", None
        if ref.parts != ("name",):
            return f"unknown field in {name}", "job.name is the only field of job"
        return None
    return f"unknown name '{ref.root}' in {name}", did_you_mean(ref.root, _ROOTS) or (
        "references start with params., variables., matrix., inputs., outputs. or job."
    )


def check_string(text: str, path: FieldPath, scope: Scope, r: Reporter) -> None:
    refs, problems = scan(text)
    for p in problems:
        r.inside(
            "RL403",
            f"{p.message} in {scope.where}",
            path,
            p.start,
            p.end - p.start,
            "write a reference as ${{ params.name }}",
        )
    for ref in refs:
        found = check_ref(ref, scope)
        if found is not None:
            message, hint = found
            r.inside("RL402", message, path, ref.start, ref.end - ref.start, hint)


def _job_strings(name: str, job: Job) -> Iterator[tuple[str, FieldPath, str]]:
    """(text, path, kind) of every templated string of a job; kind picks the scope."""
    base: FieldPath = ("jobs", name)
    if isinstance(job.script, str):
        yield job.script, (*base, "script"), "script"
    elif job.script is not None:
        for i, line in enumerate(job.script):
            yield line, (*base, "script", i), "script"
    if job.run is not None:
        yield job.run, (*base, "run"), "script"
    for key, value in job.env.items():
        if isinstance(value, str):
            yield value, (*base, "env", key), "script"
    for iname, inp in job.inputs.items():
        if inp.path is not None:
            yield inp.path, (*base, "inputs", iname, "path"), "path"
    for oname, out in job.outputs.items():
        yield out.path, (*base, "outputs", oname, "path"), "path"
    if job.metrics is not None:
        yield job.metrics, (*base, "metrics"), "path"


def check_templates(pipeline: Pipeline, r: Reporter) -> None:
    params = frozenset(pipeline.params)
    variables = frozenset(pipeline.variables)
    pipeline_scope = Scope("variables", params, variables)
    for key, value in pipeline.variables.items():
        if isinstance(value, str):
            check_string(value, ("variables", key), pipeline_scope, r)
    defaults_scope = Scope("defaults", params, variables, job=True)
    for key, value in pipeline.defaults.env.items():
        if isinstance(value, str):
            check_string(value, ("defaults", "env", key), defaults_scope, r)
    for name, job in pipeline.jobs.items():
        matrix = frozenset(job.matrix) if job.matrix is not None else None
        outputs = frozenset(job.outputs) | ({"metrics"} if job.metrics is not None else set())
        scopes = {
            "script": Scope(f"job '{name}'", params, variables, matrix, frozenset(job.inputs), outputs, True),
            "path": Scope(f"a path of job '{name}'", params, variables, matrix, None, None, True),
        }
        for text, path, kind in _job_strings(name, job):
            check_string(text, path, scopes[kind], r)


def check_conditions(pipeline: Pipeline, r: Reporter) -> None:
    declared = {"params": set(pipeline.params), "variables": set(pipeline.variables)}
    param_types = {name: param_type_word(spec.type) for name, spec in param_specs(pipeline).items()}
    for name, job in pipeline.jobs.items():
        if job.if_ is None:
            continue
        path: FieldPath = ("jobs", name, "if")
        try:
            expr = parse_expression(job.if_)
        except ExpressionError as exc:
            r.inside(
                "RL401",
                f"invalid 'if' of job '{name}': {exc.message}",
                path,
                exc.offset,
                1,
                "e.g. `if: params.epochs > 1 and matrix.model != 'tree'`",
            )
            continue
        matrix = set(job.matrix or {})
        broken = False
        for ref in ref_nodes(expr):
            names = matrix if ref.root == "matrix" else declared[ref.root]
            if ref.parts[0] in names and len(ref.parts) == 1:
                continue
            if ref.root == "matrix" and job.matrix is None:
                message, hint = f"'if' of job '{name}' uses {ref.text} but the job has no matrix", None
            elif ref.parts[0] not in names:
                singular = {"params": "param", "variables": "variable", "matrix": "matrix key"}[ref.root]
                message = f"undefined {singular} '{ref.parts[0]}' in 'if' of job '{name}'"
                hint = did_you_mean(ref.parts[0], names)
            else:
                message, hint = f"'{ref.root}.{ref.parts[0]}' has no field '{ref.parts[1]}'", None
            r.inside("RL402", message, path, ref.offset, len(ref.text), hint)
            broken = True
        if not broken:
            for problem in check_types(expr, param_types):
                r.inside(
                    "RL404",
                    f"type error in 'if' of job '{name}': {problem.message}",
                    path,
                    problem.offset,
                    problem.length,
                    problem.hint,
                )
