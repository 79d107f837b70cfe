"""YAML text → plain Python values plus a map from each field path to its source span.

PyYAML's composer gives nodes with marks; we walk them ourselves (instead of ``yaml.safe_load``)
so that every value and every mapping key keeps its position, duplicate keys are reported
instead of silently overwritten, and nothing ever raises on user input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from reefline.spec.diagnostics import Diagnostic, FieldPath, Severity
from reefline.spec.yaml_limits import MAX_DEPTH, MAX_NODES, check_limits

_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_KEEP_AS_TEXT = frozenset({"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary"})


@dataclass(frozen=True, slots=True)
class Span:
    """A source range; 1-based lines and columns, end exclusive."""

    line: int
    col: int
    end_line: int
    end_col: int


def diagnostic_at(
    span: Span,
    *,
    code: str,
    message: str,
    file: str,
    path: FieldPath,
    hint: str | None = None,
    severity: Severity = Severity.ERROR,
) -> Diagnostic:
    """A diagnostic covering ``span``."""
    return Diagnostic(
        code, message, file, span.line, span.col, span.end_line, span.end_col, severity, hint, path
    )


@dataclass(frozen=True, slots=True)
class ScalarInfo:
    style: str | None  # None (plain), "'", '"', "|" or ">"
    span: Span


@dataclass(slots=True)
class SourceMap:
    """Where each field path's value (and each mapping key) sits in the source text."""

    lines: list[str] = field(default_factory=list)
    values: dict[FieldPath, Span] = field(default_factory=dict)
    keys: dict[FieldPath, Span] = field(default_factory=dict)
    scalars: dict[FieldPath, ScalarInfo] = field(default_factory=dict)

    def nearest(self, path: FieldPath) -> tuple[FieldPath, Span]:
        """The span of ``path``'s value, or of its closest ancestor that has one."""
        for n in range(len(path), -1, -1):
            span = self.values.get(path[:n])
            if span is not None:
                return path[:n], span
        return (), Span(1, 1, 1, 1)

    def locate(self, path: FieldPath, *, key: bool = False) -> Span:
        """The span to report for ``path``: its key when asked and known, else its value (or ancestor)."""
        if key and path in self.keys:
            return self.keys[path]
        return self.nearest(path)[1]

    def key_or_value(self, path: FieldPath) -> Span:
        return self.keys.get(path) or self.nearest(path)[1]

    def scalar_position(self, path: FieldPath, offset: int, length: int = 0) -> Span:
        """The span of ``value[offset:offset+length]`` of the scalar at ``path``.

        Exact for single-line plain and quoted scalars and for literal block scalars (``|``);
        falls back to the scalar's start for anything else.
        """
        info = self.scalars.get(path)
        if info is None:
            return self.locate(path)
        span = info.span
        if info.style in (None, "'", '"') and span.line == span.end_line:
            line = self.lines[span.line - 1] if span.line <= len(self.lines) else ""
            start0 = span.col - 1
            style = info.style
            col0 = start0 + offset if style is None else _quoted_column(line, start0, style, offset)
            return Span(span.line, col0 + 1, span.line, col0 + 1 + length)
        if info.style == "|":
            return self._block_position(span, offset, length)
        return span

    def _block_position(self, span: Span, offset: int, length: int) -> Span:
        first = span.line  # header line (1-based); content starts on the next one
        indent = None
        for raw in self.lines[first:]:
            if raw.strip():
                indent = len(raw) - len(raw.lstrip(" "))
                break
        if indent is None:
            return span
        # Walk value lines: each source line after the header is one value line.
        pos = 0
        lineno = first + 1
        while lineno <= len(self.lines):
            raw = self.lines[lineno - 1]
            content = raw[indent:] if len(raw) >= indent else ""
            if offset <= pos + len(content):
                col = indent + (offset - pos) + 1
                return Span(lineno, col, lineno, col + length)
            pos += len(content) + 1
            lineno += 1
        return span


def _quoted_column(line: str, start0: int, style: str, offset: int) -> int:
    """Column (0-based) in ``line`` of value character ``offset`` of a quoted scalar at ``start0``."""
    i = start0 + 1
    seen = 0
    while i < len(line) and seen < offset:
        ch = line[i]
        if style == "'" and ch == "'" and line[i + 1 : i + 2] == "'":
            i += 2
        elif style == '"' and ch == "\\":
            nxt = line[i + 1 : i + 2]
            i += {"x": 4, "u": 6, "U": 10}.get(nxt, 2)
        else:
            i += 1
        seen += 1
    return i


@dataclass(frozen=True, slots=True)
class YamlResult:
    data: Any
    source: SourceMap
    diagnostics: list[Diagnostic]
    ok: bool  # False when the text is not YAML at all (syntax error)


def _span(node: yaml.Node) -> Span:
    s, e = node.start_mark, node.end_mark
    return Span(s.line + 1, s.column + 1, e.line + 1, e.column + 1)


class _TooBigError(Exception):
    """Raised by the walker past a limit (a safety net: :func:`check_limits` sees it first)."""

    def __init__(self, span: Span) -> None:
        super().__init__("too big")
        self.span = span


class _Walker:
    def __init__(self, file: str, source: SourceMap) -> None:
        self.file = file
        self.source = source
        self.diagnostics: list[Diagnostic] = []
        self.count = 0
        self.active: set[int] = set()
        self.ctor = yaml.constructor.SafeConstructor()

    def error(self, code: str, message: str, span: Span, path: FieldPath, hint: str | None = None) -> None:
        self.diagnostics.append(
            diagnostic_at(span, code=code, message=message, file=self.file, path=path, hint=hint)
        )

    def walk(self, node: yaml.Node, path: FieldPath) -> Any:
        self.count += 1
        span = _span(node)
        if self.count > MAX_NODES or len(path) > MAX_DEPTH:
            raise _TooBigError(span)
        self.source.values.setdefault(path, span)
        if isinstance(node, yaml.ScalarNode):
            # libyaml reports plain scalars as style '' and PyYAML as None; keep None for both.
            self.source.scalars.setdefault(path, ScalarInfo(node.style or None, span))
            return self.scalar(node, path)
        if id(node) in self.active:
            self.error("RL108", "recursive YAML alias", span, path)
            return None
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.walk(item, (*path, i)) for i, item in enumerate(node.value)]
            if isinstance(node, yaml.MappingNode):
                return self.mapping(node, path)
        finally:
            self.active.discard(id(node))
        return None  # pragma: no cover - no other node kinds

    def scalar(self, node: yaml.ScalarNode, path: FieldPath) -> Any:
        if node.tag in _KEEP_AS_TEXT:
            return node.value
        try:
            return self.ctor.construct_object(node, deep=True)
        except ValueError:  # e.g. an integer of more than 4,300 digits
            self.error(
                "RL106",
                f"the value is too large ({len(node.value):,} characters)",
                _span(node),
                path,
                "quote it to keep it as text",
            )
            return node.value
        except yaml.YAMLError:
            self.error(
                "RL104",
                f"YAML tag '{node.tag}' is not supported",
                _span(node),
                path,
                "remove the tag; Reefline reads plain YAML values",
            )
            return node.value

    def mapping(self, node: yaml.MappingNode, path: FieldPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_seen: dict[str, Span] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.append(value_node)
                continue
            key_span = _span(key_node)
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _STR_TAG:
                shown = key_node.value if isinstance(key_node, yaml.ScalarNode) else "a collection"
                self.error(
                    "RL107",
                    f"key {shown!r} is not a string",
                    key_span,
                    path,
                    f"quote it: '{shown}':" if isinstance(key_node, yaml.ScalarNode) else None,
                )
                continue
            key = str(key_node.value)
            if key in first_seen:
                self.error(
                    "RL102",
                    f"duplicate key '{key}' (first defined on line {first_seen[key].line})",
                    key_span,
                    (*path, key),
                    "remove one of them; YAML keeps only one value",
                )
                continue
            first_seen[key] = key_span
            self.source.keys.setdefault((*path, key), key_span)
            result[key] = self.walk(value_node, (*path, key))
        for merge in merges:
            sources = merge.value if isinstance(merge, yaml.SequenceNode) else [merge]
            for src in sources:
                if not isinstance(src, yaml.MappingNode):
                    self.error("RL104", "a merge key '<<' needs a mapping", _span(src), path)
                    continue
                merged = self.mapping(src, path)
                for k, v in merged.items():
                    result.setdefault(k, v)
        return result


def load_yaml(text: str, file: str = "reefline.yaml") -> YamlResult:
    """Parse ``text``; never raises. Syntax errors come back as RL101 diagnostics."""
    source = SourceMap(lines=text.splitlines())
    too_big = check_limits(text, _Loader, file)
    if too_big is not None:
        return YamlResult(None, source, [too_big], ok=False)
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        return YamlResult(None, source, [_syntax_diagnostic(exc, source, file)], ok=False)
    except yaml.reader.ReaderError as exc:
        line, col = _offset_to_position(text, exc.position)
        char = exc.character
        shown = f"#x{ord(char):04x}" if isinstance(char, str) else repr(char)
        diag = Diagnostic(
            "RL101",
            f"unacceptable character {shown}: {exc.reason}",
            file,
            line,
            col,
            hint="remove the control character or write it as an escape in a double-quoted string",
        )
        return YamlResult(None, source, [diag], ok=False)
    except RecursionError:
        diag = Diagnostic("RL108", "the document is nested too deeply", file, 1, 1)
        return YamlResult(None, source, [diag], ok=False)
    except (yaml.YAMLError, ValueError, UnicodeError) as exc:
        diag = Diagnostic("RL101", f"invalid YAML: {exc}".splitlines()[0], file, 1, 1)
        return YamlResult(None, source, [diag], ok=False)
    if node is None:
        return YamlResult(None, source, [], ok=True)
    walker = _Walker(file, source)
    try:
        data = walker.walk(node, ())
    except (_TooBigError, RecursionError) as exc:
        span = exc.span if isinstance(exc, _TooBigError) else Span(1, 1, 1, 1)
        diag = diagnostic_at(
            span,
            code="RL108",
            message="the document is too large or nested too deeply",
            file=file,
            path=(),
            hint="is an alias expanding itself many times?",
        )
        return YamlResult(None, source, [*walker.diagnostics, diag], ok=False)
    return YamlResult(data, source, walker.diagnostics, ok=True)


def _offset_to_position(text: str, offset: int) -> tuple[int, int]:
    before = text[:offset]
    line = before.count("\n") + 1
    col = offset - (before.rfind("\n") + 1) + 1
    return line, col


def _syntax_diagnostic(exc: yaml.MarkedYAMLError, source: SourceMap, file: str) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem = (exc.problem or "invalid YAML").strip()
    context = (exc.context or "").strip()
    message = f"{context}: {problem}" if context else problem
    message = message.replace("\n", " ")
    hint = _flow_template_hint(exc, source) or _tab_hint(source, line)
    return Diagnostic("RL101", f"YAML syntax error: {message}", file, line, col, hint=hint)


def _tab_hint(source: SourceMap, line: int) -> str | None:
    text = source.lines[line - 1] if 0 < line <= len(source.lines) else ""
    if "\t" in text[: len(text) - len(text.lstrip())]:
        return "YAML indentation must use spaces, not tabs"
    return None


_FLOW_SEQ = re.compile(r"^(?P<indent>\s*)(?P<dash>-\s+)?(?P<key>[^\s:#][^:#]*?):\s*\[(?P<body>.*)\]\s*$")
_FLOW_MAP = re.compile(r"^(?P<indent>\s*)(?P<dash>-\s+)?(?P<key>[^\s:#][^:#]*?):\s*\{(?P<body>.*)\}\s*$")


def _flow_template_hint(exc: yaml.MarkedYAMLError, source: SourceMap) -> str | None:
    """``[echo ${{ x }}]`` is a YAML error (``{`` opens a mapping); say so and show the block form."""
    context = exc.context or ""
    if "flow" not in context and "flow" not in (exc.problem or ""):
        return None
    marks = [m for m in (exc.problem_mark, exc.context_mark) if m is not None]
    candidates = [source.lines[m.line] for m in marks if m.line < len(source.lines)]
    line = next((c for c in candidates if "${{" in c), None)
    if line is None:
        return None
    base = "`${{ }}` inside a flow collection `[...]` or `{...}` must be quoted, or written in block form"
    block = _block_form(line)
    return f"{base}:\n{block}" if block else f'{base}, e.g. "echo ${{{{ params.x }}}}"'


def _split_flow(body: str) -> list[str]:
    """Split a flow body on top-level commas, treating ``${{ ... }}`` as opaque."""
    items, depth, cur, i = [], 0, "", 0
    while i < len(body):
        if body.startswith("${{", i):
            depth += 1
            cur += "${{"
            i += 3
            continue
        if body.startswith("}}", i) and depth:
            depth -= 1
            cur += "}}"
            i += 2
            continue
        if body[i] == "," and not depth:
            items.append(cur.strip())
            cur = ""
        else:
            cur += body[i]
        i += 1
    if cur.strip():
        items.append(cur.strip())
    return items


def _block_form(line: str) -> str | None:
    m = _FLOW_SEQ.match(line)
    if m:
        pad = " " * (len(m["indent"]) + len(m["dash"] or ""))
        head = f"{m['indent']}{m['dash'] or ''}{m['key']}:"
        return "\n".join([head, *(f"{pad}  - {item}" for item in _split_flow(m["body"]))])
    m = _FLOW_MAP.match(line)
    if m:
        pad = " " * (len(m["indent"]) + len(m["dash"] or ""))
        head = f"{m['indent']}{m['dash'] or ''}{m['key']}:"
        return "\n".join([head, *(f"{pad}  {item}" for item in _split_flow(m["body"]))])
    return None
