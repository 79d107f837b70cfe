"""Lint the well-formed rest of a spec that has shape errors, so one wrong type hides nothing else.

The shape errors are reported as they are. To lint the rest, each bad value is removed (or, for a
required key, replaced by a neutral placeholder) and the data validated again. A removed value
could make the linter invent findings (``script: {x: 1}`` removed reads as "neither script nor
run"), so every lint finding inside a repaired entity (a job, a param, a type, ...) is dropped, and
so are findings elsewhere that could follow from the repair (a repaired param or variable can make a
reference anywhere look undefined: those codes are dropped everywhere). Nothing is invented; some
findings may wait for the shape errors to be fixed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from reefline.spec.diagnostics import Diagnostic, FieldPath
from reefline.spec.model_errors import collect_errors
from reefline.spec.models import Pipeline

_ROUNDS = 5
_ENTITY_MAPS = (("jobs",), ("params",), ("types",))
_PLACEHOLDERS: dict[FieldPath, Any] = {("version",): 1, ("name",): "pipeline"}
_REFERENCES = frozenset({"RL402", "RL404", "RL506", "RL207", "RL510"})
_JOB_PRODUCTS = frozenset({"RL201", "RL202", "RL203", "RL205", "RL207", "RL301", "RL510"})


class _CannotRepair(Exception):
    pass


Rule = tuple[FieldPath, frozenset[str] | None]  # drop findings under the path: these codes, or all


def _rules(path: FieldPath) -> list[Rule]:
    """Which lint findings a repair at ``path`` could have caused: everything under ``path`` itself,
    and the findings that follow from the missing value elsewhere."""
    rules: list[Rule] = [(path, None)]
    head = path[0] if path else ""
    if head in ("params", "variables"):
        rules.append(((), _REFERENCES))
    elif head == "stages":
        rules.append(((), frozenset({"RL204", "RL205"})))
    elif head == "types":
        rules.append(((), frozenset({"RL301", "RL302", "RL303"})))
    elif head == "jobs" and len(path) >= 2:
        rules.extend(_job_rules(path))
    return rules


def _job_rules(path: FieldPath) -> list[Rule]:
    job: FieldPath = path[:2]
    part = path[2] if len(path) > 2 else None
    if part is None:
        return [(job, None), ((), _JOB_PRODUCTS)]
    if part in ("script", "run"):
        return [(job, frozenset({"RL503", "RL504", "RL509"}))]
    if part == "stage":
        return [((), frozenset({"RL205"}))]
    if part == "matrix":
        return [(job, frozenset({"RL402", "RL404", "RL508", "RL511"})), ((), frozenset({"RL207", "RL510"}))]
    # A repaired key of one input or output (its `path` or `from`) can make the rest of it look wrong.
    artifact: list[Rule] = [(path[:4], None)] if len(path) > 4 else []
    if part == "inputs":
        return [*artifact, (job, frozenset({"RL402"}))]
    if part in ("outputs", "metrics"):
        return [*artifact, (job, frozenset({"RL402"})), ((), frozenset({"RL202", "RL207", "RL301"}))]
    return []


def _parent(data: Any, path: FieldPath) -> Any:
    node = data
    for part in path[:-1]:
        node = node[part]
    return node


def _is_output_path(path: FieldPath) -> bool:
    return len(path) == 5 and path[0] == "jobs" and path[2] == "outputs" and path[4] == "path"


class _Gone(Exception):
    """The value was already removed with an ancestor."""


def _container(data: Any, path: FieldPath) -> dict[str, Any]:
    try:
        parent = _parent(data, path)
    except (KeyError, IndexError, TypeError) as exc:
        raise _Gone from exc
    if not isinstance(parent, dict):
        raise _Gone
    return parent


def _set(data: Any, path: FieldPath, value: Any) -> None:
    _container(data, path)[str(path[-1])] = value


def _repair_value(data: Any, target: FieldPath) -> FieldPath:
    """Remove or neutralize the value at ``target``; returns the path actually repaired."""
    while target and isinstance(target[-1], int):
        target = target[:-1]  # a bad item: drop the whole list (indices must not shift)
    if not target or target == ("jobs",):
        raise _CannotRepair
    entity_map = target[:-1] in _ENTITY_MAPS or (
        len(target) == 4 and target[0] == "jobs" and target[2] in ("inputs", "outputs")
    )
    if entity_map:
        _set(data, target, {})  # keep the name, so references to it still resolve
    elif target in _PLACEHOLDERS:
        _set(data, target, _PLACEHOLDERS[target])
    elif _is_output_path(target):
        _set(data, target, f".reefline-invalid/{target[1]}/{target[3]}")
    else:
        _container(data, target).pop(str(target[-1]), None)
    return target


def _repair_round(exc: ValidationError, data: Any, repaired: set[FieldPath]) -> None:
    # Deepest first, so removing a value never hides where a deeper error was.
    for error in sorted(collect_errors(exc, data), key=lambda e: -len(e.path)):
        try:
            _repair_one(error, data, repaired)
        except _Gone:
            continue


def _repair_one(error: Any, data: Any, repaired: set[FieldPath]) -> None:
    if error.kind == "extra_forbidden" and error.key is not None:
        # An unknown key means nothing: dropping it cannot invent a finding, so it damages nothing.
        _container(data, (*error.path, error.key)).pop(error.key, None)
        return
    if error.kind == "missing" and error.key is not None:
        target: FieldPath = (*error.path, error.key)
        if target not in _PLACEHOLDERS and not _is_output_path(target):
            raise _CannotRepair
    else:
        # Inside a union whose branches all failed at its own level, the whole value goes.
        deeper = error.site is not None and len(error.path) > len(error.site)
        target = error.path if error.site is None or deeper else error.site
    repaired.add(_repair_value(data, target))


def lint_repaired(
    exc: ValidationError,
    data: dict[str, Any],
    lint: Callable[[Pipeline], list[Diagnostic]],
) -> list[Diagnostic]:
    """Lint findings of the well-formed rest of ``data``; [] when it cannot be repaired."""
    pruned = copy.deepcopy(data)
    repaired: set[FieldPath] = set()
    error: ValidationError | None = exc
    pipeline: Pipeline | None = None
    try:
        for _ in range(_ROUNDS):
            if error is None:
                break
            _repair_round(error, pruned, repaired)
            try:
                pipeline = Pipeline.model_validate(pruned)
                error = None
            except ValidationError as again:
                error = again
    except _CannotRepair:
        return []
    if pipeline is None:
        return []
    rules = [rule for p in repaired for rule in _rules(p)]

    def kept(d: Diagnostic) -> bool:
        return not any(d.path[: len(p)] == p and (codes is None or d.code in codes) for p, codes in rules)

    return [d for d in lint(pipeline) if kept(d)]
