"""Checks of paths as they render: with every matrix value and the params' defaults.

``out/${{ matrix.d }}.txt`` with ``d: ../..`` leaves the workspace only once rendered, and two
expansions (or two jobs) may write one file only after rendering. Params may change at run time
(``-p``): the planner checks those paths again with the run's values. Only the matrix keys a path
uses are enumerated (the pipeline size is checked first, so this stays bounded).
"""

from __future__ import annotations

import itertools
import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from reefline.spec.diagnostics import FieldPath
from reefline.spec.lint_jobs import leaves_workspace
from reefline.spec.lint_matrix import format_matrix_value
from reefline.spec.lint_report import Reporter
from reefline.spec.models import Job, Pipeline
from reefline.spec.params import param_specs
from reefline.spec.templating import TemplateError, TemplateRef, render, scan


def rendered_path_problem(path: str) -> str | None:
    """Why a rendered workspace-relative ``path`` leaves the workspace (or is unusable), or None."""
    if not path.strip():
        return "is empty"
    if "\0" in path:
        return "contains a NUL byte"
    if path.startswith("~"):
        return "starts with '~'"
    if path.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:[\\/]", path):
        return "is absolute"
    normal = posixpath.normpath(path.replace("\\", "/"))
    if normal == ".." or normal.startswith("../"):
        return "leaves the workspace through '..'"
    return None


def _normalized(path: str) -> str:
    return posixpath.normpath(path.strip().replace("\\", "/"))


@dataclass(frozen=True, slots=True)
class _Template:
    job: str
    kind: str  # "output" or "input"
    name: str
    text: str
    path: FieldPath


def _templates(name: str, job: Job) -> Iterator[_Template]:
    base: FieldPath = ("jobs", name)
    for oname, out in job.outputs.items():
        yield _Template(name, "output", oname, out.path, (*base, "outputs", oname, "path"))
    if job.metrics is not None and "metrics" not in job.outputs:
        yield _Template(name, "output", "metrics", job.metrics, (*base, "metrics"))
    for iname, inp in job.inputs.items():
        if inp.path is not None:
            yield _Template(name, "input", iname, inp.path, (*base, "inputs", iname, "path"))


def _base_context(pipeline: Pipeline) -> dict[str, Any]:
    """``params`` (those with a default) and ``variables`` (those that render with them), as the
    planner makes them (an integer default of a float param is a float)."""
    params: dict[str, Any] = {}
    for name, spec in param_specs(pipeline).items():
        if spec.has_default:
            number = (
                spec.type == "float" and isinstance(spec.default, int) and not isinstance(spec.default, bool)
            )
            params[name] = float(spec.default) if number else spec.default
    variables: dict[str, str] = {}
    for key, value in pipeline.variables.items():
        try:
            variables[key] = render(str(value), {"params": params})
        except TemplateError:
            continue
    return {"params": params, "variables": variables}


def _renderable(refs: list[TemplateRef], context: Mapping[str, Any], job: Job) -> bool:
    for ref in refs:
        if ref.root == "matrix":
            if not ref.parts or job.matrix is None or ref.parts[0] not in job.matrix:
                return False
        elif ref.root == "job":
            if ref.parts != ("name",):
                return False
        elif (
            ref.root not in ("params", "variables") or not ref.parts or ref.parts[0] not in context[ref.root]
        ):
            return False
    return True


def _label(job: str, values: Mapping[str, Any]) -> str:
    if not values:
        return job
    return f"{job}[" + ",".join(f"{k}={format_matrix_value(v)}" for k, v in values.items()) + "]"


_Writer = tuple[str, tuple[tuple[str, Any], ...], str]  # job, matrix values, output name


def check_rendered_paths(pipeline: Pipeline, r: Reporter) -> None:
    """RL506 at the template of a path that leaves the workspace once rendered; RL207 at the second
    writer of an output path, naming the first."""
    base = _base_context(pipeline)
    writers: dict[str, _Writer] = {}  # normalized path -> first writer
    for job_name, job in pipeline.jobs.items():
        if job.matrix is not None and not all(job.matrix.values()):
            continue  # an empty axis expands to no job at all (RL508)
        for t in _templates(job_name, job):
            _check_template(t, job, base, writers, r)


def _combos(t: _Template, job: Job, refs: list[TemplateRef]) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
    matrix = job.matrix or {}
    if any(ref.root == "job" for ref in refs):
        keys = list(matrix)  # job.name differs in every expansion
    else:
        used = {ref.parts[0] for ref in refs if ref.root == "matrix"}
        keys = [k for k in matrix if k in used]
    return keys, itertools.product(*(matrix[k] for k in keys))


def _pieces(text: str, refs: list[TemplateRef], base: Mapping[str, Any]) -> list[str | TemplateRef]:
    """``text`` cut into literal text (params and variables rendered once) and matrix/job references."""
    pieces: list[str | TemplateRef] = []
    pos = 0
    for ref in refs:
        pieces.append(text[pos : ref.start])
        pieces.append(ref if ref.root in ("matrix", "job") else render(ref.source, base))
        pos = ref.end
    pieces.append(text[pos:])
    return pieces


class _Expansion:
    """One combination of the matrix values a path uses (the other keys at their first value)."""

    def __init__(self, job: str, full: Mapping[str, Any], values: Mapping[str, Any]) -> None:
        self.job = job
        self.values = values
        self.all = {**full, **values}

    @property
    def label(self) -> str:
        return _label(self.job, self.all)

    def text(self, piece: str | TemplateRef) -> str:
        if isinstance(piece, str):
            return piece
        if piece.root == "job":
            return self.label
        return format_matrix_value(self.all[piece.parts[0]])


def _check_template(
    t: _Template, job: Job, base: Mapping[str, Any], writers: dict[str, _Writer], r: Reporter
) -> None:
    refs, problems = scan(t.text)
    if problems or not _renderable(refs, base, job):
        return  # RL403 / RL402 are reported by the template checks
    try:
        pieces = _pieces(t.text, refs, base)
    except TemplateError:
        return
    matrix = job.matrix or {}
    keys, combos = _combos(t, job, refs)
    full = {k: matrix[k][0] for k in matrix}
    check_escape = bool(refs) and leaves_workspace(t.text) is None
    duplicated = False
    for combo in combos:
        expansion = _Expansion(t.job, full, dict(zip(keys, combo, strict=True)))
        rendered = "".join(expansion.text(p) for p in pieces)
        if check_escape:
            why = rendered_path_problem(rendered)
            if why:
                check_escape = False
                _report_escape(t, refs, pieces, expansion, (rendered, why), r)
        if t.kind != "output" or duplicated:
            continue
        me: _Writer = (t.job, tuple(expansion.all.items()), t.name)
        first = writers.setdefault(_normalized(rendered), me)
        if first != me and (first[0], first[2]) != (t.job, t.name):
            duplicated = True
            _report_duplicate(t, first, expansion.label, rendered, r)
        elif first != me and _label(first[0], dict(first[1])) != expansion.label:
            duplicated = True  # values that read alike (RL511) are one expansion, not two writers
            _report_duplicate(t, first, expansion.label, rendered, r)
    if t.kind == "output" and not duplicated:
        _check_unused_axes(t, job, keys, r)


def _report_escape(  # noqa: PLR0917
    t: _Template,
    refs: list[TemplateRef],
    pieces: list[str | TemplateRef],
    expansion: _Expansion,
    outcome: tuple[str, str],
    r: Reporter,
) -> None:
    rendered, why = outcome

    def moves_out(ref: TemplateRef) -> bool:
        index = refs.index(ref)
        value = expansion.text(pieces[2 * index + 1])
        return bool(value) and (rendered_path_problem(value + "/x") is not None or ".." in value)

    # Point at the reference whose value moves the path out; else at the first reference.
    culprit = next((ref for ref in refs if moves_out(ref)), refs[0])
    shown = ", ".join(f"{k}={format_matrix_value(v)!r}" for k, v in expansion.values.items())
    with_values = f" with matrix {shown}" if shown else " with the params' defaults"
    message = (
        f"{t.kind} '{t.name}' of job '{t.job}' renders to {rendered!r}{with_values}, which {why}; "
        "paths must stay inside the workspace"
    )
    hint = "a matrix value or param used in a path must be a plain name, e.g. `tree`, not `../x`"
    r.inside("RL506", message, t.path, culprit.start, culprit.end - culprit.start, hint)


def _report_duplicate(t: _Template, first: _Writer, label: str, rendered: str, r: Reporter) -> None:
    other_job, other_values, other_output = first
    other = _label(other_job, dict(other_values))
    r.value(
        "RL207",
        f"output '{t.name}' of job '{label}' writes {rendered!r}, which job '{other}' already writes "
        f"(output '{other_output}')",
        t.path,
        "give each job and matrix expansion its own path, e.g. with ${{ matrix.<key> }}",
    )


def _check_unused_axes(t: _Template, job: Job, keys: list[str], r: Reporter) -> None:
    """Expansions that differ only on a key the path does not use write the same file."""
    matrix = job.matrix or {}
    missing = [
        k for k, values in matrix.items() if k not in keys and len(set(map(format_matrix_value, values))) > 1
    ]
    if not missing:
        return
    key = missing[0]
    first = {k: v[0] for k, v in matrix.items()}
    second = {**first, key: matrix[key][1]}
    r.value(
        "RL207",
        f"output '{t.name}' of job '{t.job}' is the same file for {_label(t.job, first)} and "
        f"{_label(t.job, second)}: its path does not use matrix key '{key}'",
        t.path,
        f"put ${{{{ matrix.{key} }}}} in the path, e.g. out/${{{{ matrix.{key} }}}}.txt",
    )
