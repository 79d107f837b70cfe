"""A parse that survives a half-typed document, for the editor.

A YAML syntax error gives no tree at all, so nothing would be known while the user types. Here the
text is parsed as is; if that fails, the lines the error points at are blanked (columns and line
numbers stay the same) and the text parsed again; if that fails too, the last good tree of the
document is mapped onto the new text line by line. The CLI's ``validate`` does not use this.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from reefline.spec.diagnostics import FieldPath
from reefline.spec.yaml_source import ScalarInfo, SourceMap, Span, load_yaml

_ATTEMPTS = 4


@dataclass(frozen=True, slots=True)
class Tree:
    """Raw YAML data (whatever its shape) and where each path sits in ``source.lines``."""

    data: Any
    source: SourceMap
    exact: bool = True  # False when recovered: some lines were blanked, or an older tree was mapped
    blanked: frozenset[int] = field(default_factory=frozenset)  # 1-based lines left out


def parse_tolerant(
    text: str, file: str = "reefline.yaml", previous: Tree | None = None, edited_line: int | None = None
) -> Tree:
    """The tree of ``text``, recovered as well as possible; never raises.

    ``edited_line`` (1-based), the line the user just changed, is the first one tried blank.
    """
    lines = text.splitlines()
    parsed = load_yaml(text, file)
    if parsed.ok:
        return Tree(parsed.data, parsed.source)
    errors = [d.line for d in parsed.diagnostics if d.code == "RL101"]
    first = errors[0] if errors else 0
    edited = {edited_line} if edited_line else set()
    tries: list[set[int]] = [edited, {first - 1}, {first}, {first - 1, first}]
    if edited_line:
        tries.append({edited_line, first - 1, first})
    seen: list[set[int]] = []
    for attempt in tries:
        blank = {n for n in attempt if 0 < n <= len(lines)}
        if not blank or blank in seen:
            continue
        seen.append(blank)
        tree = _without(lines, blank, file)
        if tree is not None:
            return tree
    blanked: set[int] = set()
    for _ in range(_ATTEMPTS):  # several errors: keep blanking where the parser stops
        blanked |= {n for n in (first - 1, first) if 0 < n <= len(lines)}
        work = [" " * len(x) if i + 1 in blanked else x for i, x in enumerate(lines)]
        parsed = load_yaml("\n".join(work) + "\n", file)
        if parsed.ok:
            parsed.source.lines = lines
            return Tree(parsed.data, parsed.source, exact=False, blanked=frozenset(blanked))
        errors = [d.line for d in parsed.diagnostics if d.code == "RL101"]
        if not errors:
            break
        first = errors[0]
    if previous is not None:
        return Tree(previous.data, remap(previous.source, lines), exact=False)
    return Tree(None, SourceMap(lines=lines), exact=False)


def _without(lines: list[str], blank: set[int], file: str) -> Tree | None:
    work = [" " * len(x) if i + 1 in blank else x for i, x in enumerate(lines)]
    parsed = load_yaml("\n".join(work) + "\n", file)
    if not parsed.ok:
        return None
    parsed.source.lines = lines
    return Tree(parsed.data, parsed.source, exact=False, blanked=frozenset(blank))


def remap(old: SourceMap, lines: list[str]) -> SourceMap:
    """``old``'s spans moved onto ``lines``: lines kept unchanged follow their content, the others go."""
    moved: dict[int, int] = {}
    matcher = difflib.SequenceMatcher(None, old.lines, lines, autojunk=False)
    for block in matcher.get_matching_blocks():
        for i in range(block.size):
            moved[block.a + i + 1] = block.b + i + 1

    def span(s: Span) -> Span | None:
        start, end = moved.get(s.line), moved.get(s.end_line)
        if start is None:
            return None
        if end is None or end - start != s.end_line - s.line:
            return Span(start, s.col, start, len(lines[start - 1]) + 1)
        return Span(start, s.col, end, s.end_col)

    def spans(table: dict[FieldPath, Span]) -> dict[FieldPath, Span]:
        out: dict[FieldPath, Span] = {}
        for path, s in table.items():
            new = span(s)
            if new is not None:
                out[path] = new
        return out

    scalars: dict[FieldPath, ScalarInfo] = {}
    for path, info in old.scalars.items():
        new = span(info.span)
        if new is not None:
            scalars[path] = ScalarInfo(info.style, new)
    values = spans(old.values)
    values.setdefault((), Span(1, 1, len(lines) + 1, 1))
    return SourceMap(lines=lines, values=values, keys=spans(old.keys), scalars=scalars)
