"""Experiment parameters: declared defaults plus ``-p name=value`` overrides, coerced to each param's type."""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reefline.spec.diagnostics import escape_controls
from reefline.spec.models import Param, ParamType, Pipeline

ParamValue = str | int | float | bool | list[str | int | float | bool]

_TRUE = {"true", "1", "yes", "on", "y"}
_FALSE = {"false", "0", "no", "off", "n"}
_TYPE_WORDS = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "list": "a list",
}


class ParamError(ValueError):
    """A param value that cannot be used; the message is meant for the user."""


@dataclass(frozen=True, slots=True)
class ParamSpec:
    name: str
    type: ParamType
    default: Any
    has_default: bool
    choices: tuple[Any, ...] | None


def infer_type(value: Any) -> ParamType:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, list):
        return "list"
    return "str"


def param_spec(name: str, declared: Param | Any) -> ParamSpec:
    if isinstance(declared, Param):
        has_default = declared.default is not None
        ptype = declared.type or (infer_type(declared.default) if has_default else "str")
        choices = tuple(declared.choices) if declared.choices is not None else None
        return ParamSpec(name, ptype, declared.default, has_default, choices)
    return ParamSpec(name, infer_type(declared), declared, True, None)


def param_specs(pipeline: Pipeline) -> dict[str, ParamSpec]:
    return {name: param_spec(name, p) for name, p in pipeline.params.items()}


def matches_type(ptype: ParamType, value: Any) -> bool:
    if ptype == "bool":
        return isinstance(value, bool)
    if ptype == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if ptype == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if ptype == "list":
        return isinstance(value, list)
    return isinstance(value, str)


def not_finite(value: Any) -> bool:
    """NaN and infinities (or a list holding one): JSON cannot carry them, so no param may be one."""
    if isinstance(value, list):
        return any(not_finite(v) for v in value)
    return isinstance(value, float) and not math.isfinite(value)


def check_value(spec: ParamSpec, value: Any) -> str | None:
    """Why ``value`` is not acceptable for ``spec``, or None when it is."""
    if not_finite(value):
        return f"param '{spec.name}': {_show(value)} is not a finite number"
    if not matches_type(spec.type, value):
        got = _TYPE_WORDS[infer_type(value)]
        return f"param '{spec.name}' is {spec.type} but the value {_show(value)} is {got}"
    if spec.choices is not None and value not in spec.choices:
        allowed = ", ".join(_show(c) for c in spec.choices)
        return f"param '{spec.name}' must be one of {allowed}, got {_show(value)}"
    return None


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


def coerce(spec: ParamSpec, text: str) -> ParamValue:
    """Convert a command-line string to ``spec``'s type; raises :class:`ParamError`."""
    raw = text.strip()
    if spec.type == "str":
        return text
    if spec.type == "int":
        try:
            return int(raw)
        except ValueError:
            raise ParamError(f"param '{spec.name}' is an integer, got {text!r}") from None
    if spec.type == "float":
        try:
            number = float(raw)
        except ValueError:
            raise ParamError(f"param '{spec.name}' is a number, got {text!r}") from None
        if not math.isfinite(number):
            raise ParamError(f"param '{spec.name}': {text!r} is not a finite number")
        return number
    if spec.type == "bool":
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise ParamError(f"param '{spec.name}' is true or false, got {text!r}")
    return _coerce_list(spec, raw)


def _coerce_list(spec: ParamSpec, raw: str) -> ParamValue:
    if raw.startswith("["):
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise ParamError(f"param '{spec.name}' is a list; {raw!r} is not a JSON list ({exc})") from None
        if not isinstance(value, list) or any(isinstance(v, list | dict) or v is None for v in value):
            raise ParamError(f"param '{spec.name}' is a list of plain values, got {raw!r}")
        if not_finite(value):
            raise ParamError(f"param '{spec.name}': {raw!r} holds a number that is not finite")
        return list(value)
    items: list[str | int | float | bool] = [item.strip() for item in raw.split(",")] if raw else []
    # Follow the default's item type when it has one, so `-p sizes=1,2` stays a list of numbers.
    default = spec.default if isinstance(spec.default, list) else []
    kinds = {infer_type(v) for v in default}
    if len(kinds) == 1 and (kind := kinds.pop()) in ("int", "float", "bool"):
        item_spec = ParamSpec(spec.name, kind, None, False, None)
        items = [coerce(item_spec, str(i)) for i in items]  # type: ignore[misc]
    return items


def resolve_params(pipeline: Pipeline, overrides: Mapping[str, str]) -> dict[str, ParamValue]:
    """Every param's value for a run: its default, or the override from ``-p name=value``."""
    specs = param_specs(pipeline)
    for name in overrides:
        if name not in specs:
            close = difflib.get_close_matches(name, list(specs), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            known = f" (declared: {', '.join(sorted(specs))})" if specs and not close else ""
            raise ParamError(f"unknown param '{escape_controls(name)}'{hint}{known}")
    values: dict[str, ParamValue] = {}
    for name, spec in specs.items():
        if name in overrides:
            value: Any = coerce(spec, overrides[name])
        elif spec.has_default:
            value = spec.default
            if spec.type == "float" and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
        else:
            raise ParamError(f"param '{name}' has no default; pass -p {name}=VALUE")
        problem = check_value(spec, value)
        if problem:
            raise ParamError(problem)
        values[name] = value
    return values
