"""LSP columns count UTF-16 code units; the spec counts characters. They differ only on lines with
characters beyond the Basic Multilingual Plane (emoji), so only such documents are converted."""

from __future__ import annotations

import re
from typing import Any

import attrs
from lsprotocol import types as lsp

_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def needs_conversion(text: str) -> bool:
    return _ASTRAL.search(text) is not None


def to_characters(lines: list[str], pos: lsp.Position) -> lsp.Position:
    """A client position (UTF-16 units) as characters."""
    line = lines[pos.line] if 0 <= pos.line < len(lines) else ""
    units = 0
    for i, ch in enumerate(line):
        if units >= pos.character:
            return lsp.Position(pos.line, i)
        units += 2 if ord(ch) > 0xFFFF else 1
    return lsp.Position(pos.line, len(line) + max(pos.character - units, 0))


def _units(lines: list[str], pos: lsp.Position) -> int:
    line = lines[pos.line] if 0 <= pos.line < len(lines) else ""
    return pos.character + len(_ASTRAL.findall(line[: pos.character]))


def to_client(value: Any, lines: list[str]) -> Any:
    """``value`` (an answer: lsprotocol objects, lists, dicts) with every position in UTF-16 units."""
    if isinstance(value, lsp.Position):
        return lsp.Position(value.line, _units(lines, value))
    if isinstance(value, list | tuple):
        return (
            type(value)(to_client(v, lines) for v in value)
            if isinstance(value, tuple)
            else [to_client(v, lines) for v in value]
        )
    if isinstance(value, dict):
        return {k: to_client(v, lines) for k, v in value.items()}
    if attrs.has(type(value)):
        changes = {
            f.name: to_client(getattr(value, f.name), lines)
            for f in attrs.fields(type(value))
            if not f.name.startswith("_")
        }
        return attrs.evolve(value, **changes)
    return value
