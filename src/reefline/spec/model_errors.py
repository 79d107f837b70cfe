"""Pydantic validation errors → one human diagnostic per location, positioned via the source map.

Pydantic reports every failed branch of a union (``str | list[str]`` fails twice) and puts branch
tags such as ``'list[str]'`` into ``loc``. We strip the tags by walking ``loc`` along the data, keep
the branch that matched the value's shape, and describe what was expected from the model annotations.
"""

from __future__ import annotations

import difflib
import typing
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from reefline.spec.diagnostics import Diagnostic, FieldPath
from reefline.spec.introspect import annotation_at, describe, fields, known_keys, members
from reefline.spec.yaml_source import SourceMap


@dataclass(frozen=True, slots=True)
class _Error:
    kind: str
    path: FieldPath  # real path into the data
    site: FieldPath | None  # where a union's branches split, if inside one
    key: str | None  # the missing or unknown key
    msg: str
    ctx: dict[str, Any]


def kind_of(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _get(data: Any, path: FieldPath) -> Any:
    for comp in path:
        data = data[comp]
    return data


def _real(loc: tuple[Any, ...], data: Any) -> tuple[FieldPath, FieldPath | None]:
    real: list[str | int] = []
    site: FieldPath | None = None
    cur: Any = data
    for comp in loc:
        if isinstance(cur, dict) and isinstance(comp, str) and comp in cur:  # noqa: SIM114 (narrowing)
            real.append(comp)
            cur = cur[comp]
        elif isinstance(cur, list) and isinstance(comp, int) and 0 <= comp < len(cur):
            real.append(comp)
            cur = cur[comp]
        elif site is None:
            site = tuple(real)
    return tuple(real), site


# --- what a field expects: the public helpers of :mod:`reefline.spec.introspect` ------------------

_fields = fields
_members = members


# --- where a path is, in words -----------------------------------------------------------------


def _context(path: FieldPath) -> tuple[int, str]:
    """(length of the prefix that names a thing, its name in words)."""
    p = path
    if len(p) >= 4 and p[0] == "jobs" and p[2] in ("inputs", "outputs"):
        kind = "input" if p[2] == "inputs" else "output"
        return 4, f"{kind} '{p[3]}' of job '{p[1]}'"
    if len(p) >= 3 and p[0] == "jobs" and p[2] == "retry":
        return 3, f"retry of job '{p[1]}'"
    if len(p) >= 2 and p[0] == "jobs":
        return 2, f"job '{p[1]}'"
    if len(p) >= 2 and p[:2] == ("defaults", "retry"):
        return 2, "defaults.retry"
    if len(p) >= 1 and p[0] == "defaults":
        return 1, "defaults"
    if len(p) >= 2 and p[0] == "params":
        return 2, f"param '{p[1]}'"
    if len(p) >= 2 and p[0] == "types":
        return 2, f"type '{p[1]}'"
    return 0, ""


def _dotted(path: FieldPath) -> str:
    out = ""
    for comp in path:
        out += f"[{comp}]" if isinstance(comp, int) else (f".{comp}" if out else str(comp))
    return out


def where(path: FieldPath) -> str:
    """``'needs[0]' in job 'train'``, ``param 'lr'``, ``'version'``."""
    n, ctx = _context(path)
    rest = _dotted(path[n:])
    if not rest:
        return ctx or "the file"
    if rest.startswith("[") and ctx and len(path) == n + 1:
        return f"item {int(str(path[n])) + 1} of {ctx}"
    return f"'{rest}' in {ctx}" if ctx else f"'{rest}'"


def inside(path: FieldPath) -> str:
    n, ctx = _context(path)
    if n == len(path):
        return f" in {ctx}" if ctx else " at the top level"
    return f" in {where(path)}"


# --- the mapping ---------------------------------------------------------------------------------


def _collect(exc: ValidationError, data: Any) -> list[_Error]:
    errors: list[_Error] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        kind = err["type"]
        key: str | None = None
        if kind == "missing" and loc:
            key = str(loc[-1])
            real, site = _real(loc[:-1], data)
        else:
            real, site = _real(loc, data)
            if kind == "extra_forbidden":
                key = str(real[-1]) if real else None
                real = real[:-1]
        errors.append(_Error(kind, real, site, key, err["msg"], dict(err.get("ctx") or {})))
    return errors


def collect_errors(exc: ValidationError, data: Any) -> list[_Error]:
    """The pydantic errors that matter, with their real paths into ``data``: failed union branches
    that do not match the value's shape are left out, as in the diagnostics."""
    return [e for group in _select(_collect(exc, data), data) for e in group]


def _select(errors: list[_Error], data: Any) -> list[list[_Error]]:
    """Drop failed union branches that do not match the value's shape; group by location."""
    kept: list[_Error] = [e for e in errors if e.site is None]
    by_site: dict[FieldPath, list[_Error]] = defaultdict(list)
    for e in errors:
        if e.site is not None:
            by_site[e.site].append(e)
    for site, group in by_site.items():
        deeper = [e for e in group if len(e.path) > len(site) or e.key is not None]
        kept.extend(deeper or group)
    grouped: dict[tuple[FieldPath, str | None], list[_Error]] = defaultdict(list)
    for e in kept:
        grouped[(e.path, e.key)].append(e)
    return list(grouped.values())


def validation_diagnostics(exc: ValidationError, data: Any, source: SourceMap, file: str) -> list[Diagnostic]:
    result: list[Diagnostic] = []
    for group in _select(_collect(exc, data), data):
        first = group[0]
        result.append(_diagnostic(first, len(group) > 1, data, source, file))
    return result


def _diagnostic(e: _Error, collapsed: bool, data: Any, source: SourceMap, file: str) -> Diagnostic:
    hint: str | None = None
    if e.kind == "missing" and e.key is not None:
        code, message = "RL105", f"missing required key '{e.key}'{inside(e.path)}"
        span = source.key_or_value(e.path) if e.path else source.locate(())
        path = (*e.path, e.key)
    elif e.kind == "extra_forbidden" and e.key is not None:
        path = (*e.path, e.key)
        code, message = "RL103", f"unknown key '{e.key}'{inside(e.path)}"
        span = source.locate(path, key=True)
        known = _known_keys(e.path)
        close = difflib.get_close_matches(e.key, known, n=1, cutoff=0.6)
        if close:
            hint = f"did you mean '{close[0]}'?"
        elif known:
            hint = "known keys: " + ", ".join(known)
    else:
        path = e.path
        span = source.locate(path)
        value = _get(data, path)
        tp = annotation_at(path)
        literal = [m for m in _members(tp) if typing.get_origin(m) is typing.Literal]
        if literal and not collapsed and e.kind == "literal_error":
            allowed = [a for m in literal for a in typing.get_args(m)]
            code = "RL106"
            message = f"invalid value for {where(path)}: expected {describe(tp)}, got {value!r}"
            close = difflib.get_close_matches(str(value), [str(a) for a in allowed], n=1)
            hint = f"did you mean '{close[0]}'?" if close else None
        elif not collapsed and e.ctx and e.kind not in _TYPE_KINDS:
            code = "RL106"
            rule = e.msg.replace("Input should be", "must be")
            message = f"invalid value for {where(path)}: {rule}, got {value!r}"
        else:
            code = "RL104"
            message = f"wrong type for {where(path)}: expected {describe(tp)}, got {kind_of(value)}"
    return Diagnostic(
        code, message, file, span.line, span.col, span.end_line, span.end_col, hint=hint, path=path
    )


_TYPE_KINDS = frozenset(
    {
        "string_type",
        "int_type",
        "int_parsing",
        "float_type",
        "float_parsing",
        "bool_type",
        "bool_parsing",
        "list_type",
        "dict_type",
        "model_type",
        "model_attributes_type",
        "int_from_float",
    }
)


_known_keys = known_keys
