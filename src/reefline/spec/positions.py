"""Position → node, and what the cursor is in for completion.

Lines and columns are 1-based like :class:`~reefline.spec.yaml_source.Span`; a column is the
position *before* that character, so the cursor at the end of ``needs`` on ``  needs|`` is col 8.
The completion context is read from the text (indentation and the current line), not from the tree,
so it works in a document that does not parse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from reefline.spec.diagnostics import FieldPath
from reefline.spec.yaml_source import SourceMap, Span


class NodeKind(StrEnum):
    KEY = "key"
    VALUE = "value"


@dataclass(frozen=True, slots=True)
class Node:
    kind: NodeKind
    path: FieldPath
    span: Span


def contains(span: Span, line: int, col: int) -> bool:
    """Whether the position is inside ``span`` or at its end (where a cursor after a word is)."""
    return (span.line, span.col) <= (line, col) <= (span.end_line, span.end_col)


def node_at(source: SourceMap, line: int, col: int) -> Node | None:
    """The innermost key or scalar value under the position; a key wins over the value it names."""
    for path, span in source.keys.items():
        if span.line == line and contains(span, line, col):
            return Node(NodeKind.KEY, path, span)
    best: Node | None = None
    for path, info in source.scalars.items():
        span = info.span
        if contains(span, line, col) and (best is None or len(path) > len(best.path)):
            best = Node(NodeKind.VALUE, path, span)
    return best


class ContextKind(StrEnum):
    KEY = "key"  # typing a key of the mapping at ``path``
    VALUE = "value"  # typing the value at ``path``
    NEEDS = "needs"  # an item of a job's ``needs``
    FROM = "from"  # the ``from:`` of an input
    TEMPLATE = "template"  # inside ``${{ }}``; ``prefix`` is the dotted text typed so far


@dataclass(frozen=True, slots=True)
class CompletionContext:
    kind: ContextKind
    path: FieldPath
    prefix: str  # the word being typed, up to the cursor
    start_col: int  # 1-based column where ``prefix`` starts (the range a completion replaces)

    @property
    def job(self) -> str | None:
        """The job the cursor is in, if any."""
        if len(self.path) >= 2 and self.path[0] == "jobs":
            return str(self.path[1])
        return None


_KEY_LINE = re.compile(
    r"^(?P<indent> *)(?P<dash>(?:- +)*)(?P<key>[^\s#:{}\[\],'\"][^#:{}\[\]]*?)\s*(?P<colon>:)(?:\s|$)"
)
_WORD = re.compile(r"[\w./\-]*$")
_TEMPLATE_WORD = re.compile(r"[\w.\-]*$")


def _content_indent(line: str) -> int:
    stripped = line.lstrip(" ")
    indent = len(line) - len(stripped)
    while stripped.startswith("- ") or stripped == "-":
        rest = stripped[1:].lstrip(" ")
        indent += len(stripped) - len(rest)
        stripped = rest
    return indent


def _is_blank(line: str) -> bool:
    s = line.strip()
    return not s or s.startswith("#")


def block_path(lines: list[str], line: int, indent: int) -> FieldPath:
    """The keys of the block mappings enclosing column ``indent`` (0-based) on ``line`` (1-based)."""
    path: list[str | int] = []
    for n in range(line - 2, -1, -1):
        if indent <= 0:
            break
        text = lines[n]
        if _is_blank(text):
            continue
        stripped = text.lstrip(" ")
        own = len(text) - len(stripped)
        content = _content_indent(text)
        if own < indent and stripped.startswith("-") and content >= indent:
            path.append(_item_index(lines, n, own))  # a sibling key inside the same list item
            indent = own
            continue
        if content >= indent:
            continue
        m = _KEY_LINE.match(text)
        if m is None:
            indent = min(indent, content)
            continue
        if m["dash"] and own < content:
            path.append(m["key"].strip())
            path.append(_item_index(lines, n, own))
            indent = own
        else:
            path.append(m["key"].strip())
            indent = content
    return tuple(reversed(path))


def _item_index(lines: list[str], n: int, dash_indent: int) -> int:
    """How many items of the same list come before the one starting on line ``n`` (0-based)."""
    count = 0
    for m in range(n - 1, -1, -1):
        text = lines[m]
        if _is_blank(text):
            continue
        own = len(text) - len(text.lstrip(" "))
        if own < dash_indent:
            break
        if own == dash_indent and text.lstrip(" ").startswith("-"):
            count += 1
    return count


def _flow(path: FieldPath, text: str) -> tuple[FieldPath, bool]:
    """Inside a flow collection in ``text`` (the line up to the cursor): the path, and whether the
    cursor is where a key goes."""
    stack: list[tuple[str, list[str], int]] = []  # (bracket, keys seen in this mapping, item index)
    keys: list[FieldPath] = [path]
    word_start = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if text.startswith("${{", i):
            end = text.find("}}", i)
            i = len(text) if end < 0 else end + 2
            continue
        if ch in "'\"":
            end = text.find(ch, i + 1)
            i = len(text) if end < 0 else end + 1
            continue
        if ch in "[{":
            stack.append((ch, [], 0))
            base = keys[-1]
            keys.append((*base, 0) if ch == "[" else base)
            word_start = i + 1
        elif ch in "]}" and stack:
            stack.pop()
            keys.pop()
        elif ch == "," and stack:
            bracket, _, index = stack[-1]
            stack[-1] = (bracket, [], index + 1)
            keys[-1] = (*keys[-2], index + 1) if bracket == "[" else keys[-2]
            word_start = i + 1
        elif ch == ":" and stack and stack[-1][0] == "{":
            name = text[word_start:i].strip()
            keys[-1] = (*keys[-2], name)
        i += 1
    if not stack:
        return path, False
    at_key = stack[-1][0] == "{" and ":" not in text[word_start:]
    return keys[-1], at_key


def completion_context(lines: list[str], line: int, col: int) -> CompletionContext:
    """What is being typed at the position."""
    current = lines[line - 1] if 0 < line <= len(lines) else ""
    before = current[: max(col - 1, 0)]
    opened = before.rfind("${{")
    if opened >= 0 and before.find("}}", opened) < 0:
        prefix = _TEMPLATE_WORD.search(before)
        typed = prefix.group() if prefix else ""
        base = block_path(lines, line, _content_indent(current) or 1)
        m = _KEY_LINE.match(current)
        path = (*base, m["key"].strip()) if m and m.end("colon") <= len(before) else base
        return CompletionContext(ContextKind.TEMPLATE, path, typed, col - len(typed))
    word = _WORD.search(before)
    typed = word.group() if word else ""
    start = col - len(typed)
    indent = _content_indent(current)
    stripped = current.lstrip(" ")
    is_item = stripped.startswith("-")
    base = block_path(lines, line, indent)
    m = _KEY_LINE.match(current)
    if m is not None and len(before) >= m.end("colon"):
        key_path: FieldPath = (*base, m["key"].strip())
        if m["dash"]:
            key_path = (*base, _item_index(lines, line - 1, len(current) - len(stripped)), m["key"].strip())
        path, at_key = _flow(key_path, before[m.end("colon") :])
        kind = ContextKind.KEY if at_key else ContextKind.VALUE
        return _refine(CompletionContext(kind, path, typed, start))
    if is_item:
        own = len(current) - len(stripped)
        parent = block_path(lines, line, own) if own else base
        path, at_key = _flow((*parent, _item_index(lines, line - 1, own)), before[own + 1 :])
        kind = ContextKind.KEY if at_key else ContextKind.VALUE
        return _refine(CompletionContext(kind, path, typed, start))
    return CompletionContext(ContextKind.KEY, base, typed, start)


def _refine(ctx: CompletionContext) -> CompletionContext:
    path = ctx.path
    if ctx.kind is ContextKind.VALUE and len(path) >= 3 and path[0] == "jobs":
        if path[-1] == "needs" or (len(path) >= 4 and path[-2] == "needs" and isinstance(path[-1], int)):
            return CompletionContext(ContextKind.NEEDS, path, ctx.prefix, ctx.start_col)
        if path[-1] == "from" and len(path) == 5 and path[2] == "inputs":
            return CompletionContext(ContextKind.FROM, path, ctx.prefix, ctx.start_col)
    return ctx
