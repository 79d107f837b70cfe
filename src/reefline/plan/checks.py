"""Checks that need rendered values: paths made from params and matrix values.

The linter checks paths as written; only the plan knows what ``out/${{ params.d }}`` becomes with
this run's ``-p d=…``. Each problem is a :class:`PlanError` with the field path of the template,
so the caller can point at it in the file.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

from reefline.plan.errors import PlanError
from reefline.plan.ir import Step
from reefline.spec.lint_outputs import rendered_path_problem

FieldPath = tuple[str | int, ...]


def escapes_workspace(path: str) -> str | None:
    """Why a rendered workspace-relative ``path`` leaves the workspace, or None (the linter's rule)."""
    return rendered_path_problem(path)


def normalized(path: str) -> str:
    return posixpath.normpath(path.replace("\\", "/"))


def output_field(step: Step, name: str, metrics_output: str) -> FieldPath:
    if name == metrics_output and step.metrics == name:
        return ("jobs", step.job, "metrics")
    return ("jobs", step.job, "outputs", name, "path")


def check_paths(steps: Iterable[Step], metrics_output: str) -> None:
    """Every rendered input and output path stays in the workspace; no two steps write one path."""
    writers: dict[str, str] = {}
    for step in steps:
        for ref in step.inputs:
            if ref.producers:  # a `from:` input reads the producer's output, checked there
                continue
            for path in ref.paths:
                _check_inside(step, "input", ref.name, path, ("jobs", step.job, "inputs", ref.name, "path"))
        for out in step.outputs:
            where = output_field(step, out.name, metrics_output)
            _check_inside(step, "output", out.name, out.path, where)
            target = normalized(out.path)
            other = writers.setdefault(target, step.id)
            if other != step.id:
                raise PlanError(
                    f"jobs {other!r} and {step.id!r} both write {target!r}",
                    path=where,
                    code="RL207",
                    hint="give each job and matrix expansion its own path, e.g. with ${{ matrix.<key> }}",
                )


def _check_inside(step: Step, kind: str, name: str, path: str, where: FieldPath) -> None:
    why = escapes_workspace(path)
    if why:
        raise PlanError(
            f"{step.id}: {kind} {name!r} renders to {path!r}, which {why}; "
            "paths must stay inside the workspace",
            path=where,
            code="RL506",
            hint="check the params and matrix values this path is made from (e.g. `-p`)",
        )
