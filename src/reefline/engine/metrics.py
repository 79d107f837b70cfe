"""Reading a job's metrics file: bounded in size and depth, every surprise reported, none dropped.

``{"test": {"accuracy": 0.9}}`` becomes ``{"test.accuracy": 0.9}``. A file that is too big, nested
too deep (which would overflow the C JSON parser's recursion), not JSON, not an object, or whose
flattened keys collide (``{"a.b": 1, "a": {"b": 2}}``) is an error that fails the job. NaN and
infinite values, and values that are not numbers, are not recorded; each is named in a warning that
goes to the job's log.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

MAX_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 64

_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


class MetricsError(Exception):
    """The metrics file cannot be used; the message names the file."""


@dataclass(frozen=True, slots=True)
class Metrics:
    values: dict[str, float]
    warnings: list[str] = field(default_factory=list)


def read_metrics(
    path: Path, shown: str, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH
) -> Metrics:
    """Parse the metrics file at ``path`` (``shown``: its name in messages)."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise MetricsError(f"metrics file {shown} is {size} bytes; the limit is {max_bytes}")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MetricsError(f"metrics file {shown} cannot be read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise MetricsError(f"metrics file {shown} is not UTF-8 text: {exc}") from exc
    return parse_metrics(text, shown, max_depth=max_depth)


def parse_metrics(text: str, shown: str, *, max_depth: int = MAX_DEPTH) -> Metrics:
    depth = nesting_depth(text)
    if depth > max_depth:
        raise MetricsError(f"metrics file {shown} is nested {depth} levels deep; the limit is {max_depth}")
    try:
        doc = json.loads(text, object_pairs_hook=_pairs, parse_constant=_Constant)
    except _DuplicateKeyError as exc:
        raise MetricsError(f"metrics file {shown}: key {exc.key!r} appears twice in one object") from None
    except ValueError as exc:
        raise MetricsError(f"metrics file {shown} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise MetricsError(f"metrics file {shown} must hold a JSON object, not {_kind(doc)}")
    values: dict[str, float] = {}
    origin: dict[str, str] = {}
    warnings: list[str] = []
    skipped: list[str] = []
    _Flattener(shown, values, origin, warnings, skipped).walk(doc, ())
    if skipped:
        warnings.append(f"metrics file {shown}: not numbers, not recorded: {', '.join(skipped)}")
    return Metrics(values, warnings)


def nesting_depth(text: str) -> int:
    """The deepest ``[``/``{`` nesting of a JSON text, without recursion (strings are skipped)."""
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth -= 1
    return deepest


class _Constant(float):
    """NaN, Infinity or -Infinity as written in the file (kept apart to be reported)."""

    def __new__(cls, literal: str) -> _Constant:
        obj = super().__new__(cls, float(literal.replace("Infinity", "inf")))
        obj.literal = literal
        return obj

    literal: str


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _pairs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKeyError(key)
        out[key] = value
    return out


@dataclass
class _Flattener:
    shown: str
    values: dict[str, float]
    origin: dict[str, str]
    warnings: list[str]
    skipped: list[str]

    def walk(self, doc: dict[str, object], prefix: tuple[str, ...]) -> None:
        for key, value in doc.items():
            path = (*prefix, key)
            if isinstance(value, dict):
                self.walk(value, path)
            else:
                self.leaf(path, value)

    def leaf(self, path: tuple[str, ...], value: object) -> None:
        name, spelled, shown = ".".join(path), json.dumps(list(path)), self.shown
        if name in self.origin:
            raise MetricsError(
                f"metrics file {shown}: {spelled} and {self.origin[name]} both flatten to the key {name!r}"
            )
        self.origin[name] = spelled
        if isinstance(value, _Constant):
            self.warnings.append(f"metrics file {shown}: {name!r} is {value.literal}; not recorded")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            try:
                number = float(value)
            except OverflowError:  # an integer too big for a float
                number = math.inf
            if math.isfinite(number):
                self.values[name] = number
            else:
                self.warnings.append(f"metrics file {shown}: {name!r} is too large; not recorded")
        else:
            self.skipped.append(repr(name))


def _kind(doc: object) -> str:
    if isinstance(doc, list):
        return "a list"
    if doc is None:
        return "null"
    if isinstance(doc, bool):
        return "a boolean"
    if isinstance(doc, int | float):
        return "a number"
    return "a string"
