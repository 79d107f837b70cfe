"""``${{ reference }}`` inside strings: finding references (for the linter) and rendering them (for the plan).

Only dotted references are allowed (``params.lr``, ``matrix.model``, ``inputs.data.path``, ``job.name``);
there is no arithmetic and no function call, so rendering cannot run anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_OPEN = "${{"
_CLOSE = "}}"
_REF = re.compile(r"^[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*$")


class TemplateError(Exception):
    """A bad template or an unknown name; ``offset`` is where in the text, when known."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


@dataclass(frozen=True, slots=True)
class TemplateRef:
    """One ``${{ root.part.part }}``; ``start``/``end`` are offsets of the whole ``${{ … }}``."""

    root: str
    parts: tuple[str, ...]
    start: int
    end: int
    source: str

    @property
    def dotted(self) -> str:
        return ".".join((self.root, *self.parts))


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    message: str
    start: int
    end: int


def scan(text: str) -> tuple[list[TemplateRef], list[TemplateProblem]]:
    """All references and all malformed ``${{ }}`` in ``text``, in order."""
    refs: list[TemplateRef] = []
    problems: list[TemplateProblem] = []
    pos = 0
    while True:
        start = text.find(_OPEN, pos)
        if start < 0:
            break
        close = text.find(_CLOSE, start + len(_OPEN))
        if close < 0:
            problems.append(TemplateProblem("unterminated '${{': missing '}}'", start, len(text)))
            break
        end = close + len(_CLOSE)
        inner = text[start + len(_OPEN) : close].strip()
        if not inner:
            problems.append(TemplateProblem("empty '${{ }}'", start, end))
        elif not _REF.match(inner):
            problems.append(
                TemplateProblem(
                    f"'${{{{ {inner} }}}}' is not a reference; only names like params.x or "
                    "inputs.data.path are allowed inside ${{ }}",
                    start,
                    end,
                )
            )
        else:
            root, *parts = inner.split(".")
            refs.append(TemplateRef(root, tuple(parts), start, end, text[start:end]))
        pos = end
    return refs, problems


def find_references(text: str) -> list[TemplateRef]:
    """References in ``text``; raises :class:`TemplateError` for the first malformed ``${{ }}``."""
    refs, problems = scan(text)
    if problems:
        raise TemplateError(problems[0].message, problems[0].start)
    return refs


def _lookup(ref: TemplateRef, context: Mapping[str, Any]) -> Any:
    value: Any = context
    names = (ref.root, *ref.parts)
    for i, name in enumerate(names):
        if not isinstance(value, Mapping) or name not in value:
            raise TemplateError(f"unknown name '{'.'.join(names[: i + 1])}' in {ref.source}", ref.start)
        value = value[name]
    return value


def format_value(value: Any) -> str:
    """How a value renders inside a string: lists space-joined, booleans ``true``/``false``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return " ".join(format_value(v) for v in value)
    return str(value)


def render(text: str, context: Mapping[str, Any]) -> str:
    """``text`` with every ``${{ ref }}`` replaced by its value in ``context`` (nested mappings)."""
    refs = find_references(text)
    out: list[str] = []
    pos = 0
    for ref in refs:
        value = _lookup(ref, context)
        if isinstance(value, Mapping):
            raise TemplateError(f"{ref.source} is a mapping, not a value", ref.start)
        out.append(text[pos : ref.start])
        out.append(format_value(value))
        pos = ref.end
    out.append(text[pos:])
    return "".join(out)
