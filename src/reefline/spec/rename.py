"""Renaming a named thing (job, output, input, param, matrix key) as exact text edits at every place
the symbol index found it, so nothing else in the text moves. Shared by the language server's rename
and the editor API's ``rename_job``."""

from __future__ import annotations

import re

from reefline.spec.symbols import Index, Symbol
from reefline.spec.yaml_source import Span

NAME = re.compile(r"^[A-Za-z_][\w-]*$")


class RenameRefused(ValueError):
    """The symbol cannot be renamed, or not to that name; the message says why."""


def rename_edits(index: Index, symbol: Symbol, new_name: str) -> list[tuple[Span, str]]:
    """The (span, new text) edits renaming every definition and reference of ``symbol``, in text order.
    Raises :class:`RenameRefused` for an invalid name or one already taken by a sibling."""
    if not NAME.match(new_name):
        raise RenameRefused(f"'{new_name}' is not a valid name: use letters, digits, '_' and '-'")
    taken = {
        o.symbol.name
        for o in index.occurrences
        if o.definition and o.symbol.kind == symbol.kind and o.symbol.owner == symbol.owner
    }
    if new_name != symbol.name and new_name in taken:
        raise RenameRefused(f"{symbol.kind} '{new_name}' already exists")
    found = sorted(index.of(symbol), key=lambda o: (o.span.line, o.span.col))
    return [(o.span, new_name) for o in found]


def apply_span_edits(text: str, edits: list[tuple[Span, str]]) -> str:
    """``text`` with each single-line span replaced (spans must not overlap)."""
    lines = text.split("\n")
    for span, new in sorted(edits, key=lambda e: (e[0].line, e[0].col), reverse=True):
        line = lines[span.line - 1]
        lines[span.line - 1] = line[: span.col - 1] + new + line[span.end_col - 1 :]
    return "\n".join(lines)
