"""A table written line by line with hand-padded columns: linear in its rows.

rich's ``Table`` measures every cell several times; for a run of 1,000 jobs ``reefline show``
spent 0.6 s in it, for 20,000 about 15 s. Cells here are lists of lines, each line a list of
``(text, style)`` segments; styles are rich-like names turned into ANSI codes when colour is on.
Text is written as given: callers pass it through :func:`reefline.cli.common.visible` first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Segment = tuple[str, str]  # (text, style name or "")
Line = list[Segment]
Cell = list[Line]

_ANSI = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "magenta": "35",
    "cyan": "36",
}


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    right: bool = False


def cell(text: str, style: str = "") -> Cell:
    """A cell of one or more lines (split at newlines), all in one style."""
    return [[(line, style)] for line in text.split("\n")]


def _width(line: Line) -> int:
    return sum(len(text) for text, _ in line)


def _paint(line: Line, color: bool) -> str:
    if not color:
        return "".join(text for text, _ in line)
    out = []
    for text, style in line:
        code = _ANSI.get(style)
        out.append(f"\x1b[{code}m{text}\x1b[0m" if code and text else text)
    return "".join(out)


def render_table(columns: Sequence[Column], rows: Sequence[Sequence[Cell]], *, color: bool) -> list[str]:
    """The header and every row as text lines; a row is as tall as its tallest cell."""
    widths = [len(c.name) for c in columns]
    for row in rows:
        for k, value in enumerate(row):
            widths[k] = max(widths[k], *(_width(line) for line in value)) if value else widths[k]

    def join(line_cells: Sequence[Line]) -> str:
        parts = []
        for column, width, line in zip(columns, widths, line_cells, strict=True):
            pad = " " * (width - _width(line))
            painted = _paint(line, color)
            parts.append(pad + painted if column.right else painted + pad)
        return "  ".join(parts).rstrip()

    lines = [join([[(c.name, "bold")] for c in columns])]
    for row in rows:
        for i in range(max((len(value) for value in row), default=1)):
            lines.append(join([value[i] if i < len(value) else [] for value in row]))
    return lines
