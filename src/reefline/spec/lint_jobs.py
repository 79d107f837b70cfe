"""Checks of one thing at a time: unsupported keys, names, script/run, durations, matrix, paths, params."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from reefline.spec.diagnostics import FieldPath, Severity
from reefline.spec.durations import parse_duration
from reefline.spec.lint_containers import check_containers
from reefline.spec.lint_matrix import check_matrix_values
from reefline.spec.lint_report import Reporter, did_you_mean
from reefline.spec.models import (
    UNSUPPORTED_DEFAULTS_KEYS,
    UNSUPPORTED_JOB_KEYS,
    UNSUPPORTED_PIPELINE_KEYS,
    Job,
    Param,
    Pipeline,
    Retry,
)
from reefline.spec.params import check_value, param_spec

_UNSUPPORTED_HINTS = {
    "uses": "write the step as `script:` or `run: module:function`",
    "with": "`with` gives arguments to `uses`, which is not supported yet",
    "lua": "write the step as `script:` or `run: module:function`",
    "extends": "repeat the shared keys for now, or use a YAML merge key (`<<: *template`)",
    "secrets": "pass secrets as environment variables of the shell that runs reefline for now",
    "schedule": "run `reefline run` from cron or CI for now",
    "triggers": "run `reefline run` from your CI for now",
    "include": "keep the whole pipeline in one file for now",
}
_JOB_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")
_ENTRY_POINT = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


def _set_keys(model: BaseModel, keys: tuple[str, ...]) -> list[str]:
    """The keys among ``keys`` (YAML spelling) that the user wrote."""
    fields = type(model).model_fields
    by_key = {(f.alias or name): name for name, f in fields.items()}
    return [
        k for k in keys if by_key.get(k) in model.model_fields_set and getattr(model, by_key[k]) is not None
    ]


def check_unsupported(pipeline: Pipeline, r: Reporter) -> None:
    def report(key: str, path: FieldPath) -> None:
        r.key(
            "RL501",
            f"'{key}' is not supported yet in Reefline 0.1 (planned)",
            path,
            _UNSUPPORTED_HINTS.get(key),
        )

    for key in _set_keys(pipeline, UNSUPPORTED_PIPELINE_KEYS):
        report(key, (key,))
    for key in _set_keys(pipeline.defaults, UNSUPPORTED_DEFAULTS_KEYS):
        report(key, ("defaults", key))
    for name, job in pipeline.jobs.items():
        for key in _set_keys(job, UNSUPPORTED_JOB_KEYS):
            report(key, ("jobs", name, key))
        if job.when == "manual":
            r.value(
                "RL501",
                "'when: manual' is not supported yet in Reefline 0.1 (planned)",
                ("jobs", name, "when"),
                "use on_success, on_failure or always",
            )


_NAME_HINT = "use ASCII letters, digits, '_' and '-', e.g. `prepare_data`"


def _name_problem(name: str) -> str:
    """Why ``name`` cannot be a job name, in words."""
    if "." in name:
        return "'.' is not allowed, since it separates the job and the output in `from: job.output`"
    if not name:
        return "the name is empty"
    if name.startswith("-"):
        return "a job name cannot start with '-' (it would read as an option on the command line)"
    if "[" in name or "]" in name or "=" in name or "," in name:
        return "'[', ']', '=' and ',' are kept for matrix expansions such as `train[model=tree]`"
    return "a job name has only ASCII letters, digits, '_' and '-'"


def check_names_and_stages(pipeline: Pipeline, r: Reporter) -> None:
    for name in pipeline.jobs:
        if not _JOB_NAME.match(name):
            r.key("RL208", f"invalid job name '{name}': {_name_problem(name)}", ("jobs", name), _NAME_HINT)
    if not pipeline.jobs:
        r.value("RL106", "the pipeline has no jobs", ("jobs",), "add a job under `jobs:`")
    if not pipeline.stages:
        r.value("RL106", "'stages' must list at least one stage", ("stages",))
    seen: set[str] = set()
    for i, stage in enumerate(pipeline.stages):
        if stage in seen:
            r.value("RL206", f"stage '{stage}' is listed twice", ("stages", i))
        seen.add(stage)
    for name, job in pipeline.jobs.items():
        if job.stage is not None and job.stage not in seen:
            hint = (
                did_you_mean(job.stage, pipeline.stages) or f"declared stages: {', '.join(pipeline.stages)}"
            )
            r.value(
                "RL204", f"job '{name}' uses the unknown stage '{job.stage}'", ("jobs", name, "stage"), hint
            )


def check_step(name: str, job: Job, r: Reporter) -> None:
    """Exactly one of script/run, a non-empty script, ``run`` as ``module:function``."""
    base: FieldPath = ("jobs", name)
    has_script, has_run = job.script is not None, job.run is not None
    if has_script and has_run:
        r.key("RL503", f"job '{name}' has both 'script' and 'run'; keep one", (*base, "run"))
    elif not has_script and not has_run and job.uses is None and job.lua is None:
        r.key(
            "RL503",
            f"job '{name}' has neither 'script' nor 'run'",
            base,
            "add `script:` (shell lines) or `run: module:function` (a Python function)",
        )
    if has_script and not any(line.strip() for line in job.script_lines()):
        r.value("RL503", f"the script of job '{name}' is empty", (*base, "script"))
    if job.run is not None and "${{" not in job.run and not _ENTRY_POINT.match(job.run.strip()):
        r.value(
            "RL504",
            f"'run' of job '{name}' must be 'module:function', got {job.run!r}",
            (*base, "run"),
            "e.g. `run: steps.train:main` calls main() of steps/train.py",
        )


def _duration(value: Any, what: str, path: FieldPath, r: Reporter) -> None:
    if value is None:
        return
    try:
        parse_duration(value)
    except ValueError as exc:
        r.value("RL502", f"invalid {what}: {exc}", path)


def _retry(retry: Retry | int | None, where: str, path: FieldPath, r: Reporter) -> None:
    if isinstance(retry, Retry):
        _duration(retry.delay, f"retry delay of {where}", (*path, "delay"), r)
    elif isinstance(retry, int) and not 0 <= retry <= 10:
        r.value("RL106", f"retry of {where} must be between 0 and 10, got {retry}", path)


def check_durations(pipeline: Pipeline, r: Reporter) -> None:
    _duration(pipeline.defaults.timeout, "default timeout", ("defaults", "timeout"), r)
    _retry(pipeline.defaults.retry, "defaults", ("defaults", "retry"), r)
    for name, job in pipeline.jobs.items():
        _duration(job.timeout, f"timeout of job '{name}'", ("jobs", name, "timeout"), r)
        _retry(job.retry, f"job '{name}'", ("jobs", name, "retry"), r)


def check_matrix(name: str, job: Job, r: Reporter) -> None:
    if job.matrix is None:
        return
    if not job.matrix:
        r.value(
            "RL508",
            f"the matrix of job '{name}' is empty",
            ("jobs", name, "matrix"),
            "remove `matrix:` or give it a key with a list of values",
        )
    for key, values in job.matrix.items():
        if not values:
            r.value(
                "RL508", f"matrix key '{key}' of job '{name}' has no values", ("jobs", name, "matrix", key)
            )
    check_matrix_values(name, job, r)


def leaves_workspace(path: str) -> str | None:
    """Why ``path`` leaves the workspace, or None."""
    if path.startswith("~"):
        return "starts with '~'"
    if path.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:[\\/]", path):
        return "is absolute"
    if ".." in re.split(r"[\\/]", path):
        return "contains '..'"
    return None


def _path(value: str | None, what: str, path: FieldPath, r: Reporter) -> None:
    if value is None:
        return
    if not value.strip():
        r.value("RL106", f"{what}: the path is empty", path)
        return
    why = leaves_workspace(value)
    if why:
        r.value(
            "RL506",
            f"{what}: path {value!r} {why}; paths must stay inside the workspace",
            path,
            "write it relative to the workspace root, e.g. `data/train.csv`",
        )


def check_artifacts(name: str, job: Job, r: Reporter) -> None:
    base: FieldPath = ("jobs", name)
    for iname, inp in job.inputs.items():
        if (inp.path is None) == (inp.from_ is None):
            both = inp.path is not None
            r.key(
                "RL505",
                f"input '{iname}' of job '{name}' has "
                + ("both 'path' and 'from'" if both else "neither 'path' nor 'from'"),
                (*base, "inputs", iname),
                "an input is either a file (`path:`) or another job's output (`from: job.output`)",
            )
        _path(inp.path, f"input '{iname}' of job '{name}'", (*base, "inputs", iname, "path"), r)
    for oname, out in job.outputs.items():
        _path(out.path, f"output '{oname}' of job '{name}'", (*base, "outputs", oname, "path"), r)
    _path(job.metrics, f"metrics of job '{name}'", (*base, "metrics"), r)
    if job.metrics is not None and "metrics" in job.outputs:
        r.key(
            "RL106",
            f"job '{name}' declares an output named 'metrics' and a `metrics:` file",
            (*base, "outputs", "metrics"),
            "`metrics:` already is the output named 'metrics'; rename one",
        )


def check_params(pipeline: Pipeline, r: Reporter) -> None:
    for name, declared in pipeline.params.items():
        if not isinstance(declared, Param):
            problem = check_value(param_spec(name, declared), declared)
            if problem:
                r.value("RL507", f"invalid value: {problem}", ("params", name))
            continue
        spec = param_spec(name, declared)
        base: FieldPath = ("params", name)
        if declared.choices is not None:
            for i, choice in enumerate(declared.choices):
                problem = check_value(spec.__class__(name, spec.type, None, False, None), choice)
                if problem:
                    r.value("RL507", f"choice {i + 1} of {problem}", (*base, "choices", i))
        if spec.has_default:
            problem = check_value(spec, declared.default)
            if problem:
                r.value("RL507", f"invalid default: {problem}", (*base, "default"))
        elif declared.choices == []:
            r.value("RL507", f"param '{name}' has an empty list of choices", (*base, "choices"))


def check_job_params(pipeline: Pipeline, name: str, job: Job, r: Reporter) -> None:
    """``params:`` names declared params, and only matters to a ``run:`` job."""
    if job.params is None:
        return
    base: FieldPath = ("jobs", name, "params")
    if job.run is None:
        r.key(
            "RL509",
            f"'params' of job '{name}' only applies to `run:` jobs",
            base,
            "a script depends on the params its lines mention through ${{ params.x }}; remove `params`",
            Severity.WARNING,
        )
    for i, param in enumerate(job.params):
        if param not in pipeline.params:
            r.value(
                "RL402",
                f"job '{name}' lists the undefined param '{param}'",
                (*base, i),
                did_you_mean(param, pipeline.params),
            )


def check_jobs(pipeline: Pipeline, r: Reporter) -> None:
    check_containers(pipeline, r)
    for name, job in pipeline.jobs.items():
        check_job_params(pipeline, name, job, r)
        check_step(name, job, r)
        check_matrix(name, job, r)
        check_artifacts(name, job, r)
