"""The validator's diagnostics as LSP diagnostics: exact ranges, codes, hints, related places, fixes.

A "did you mean 'x'?" hint becomes ``data = {"replace": x, "range": …}``: the characters a quick fix
replaces (the misspelt word only, also when the diagnostic covers a whole ``${{ }}``).
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from lsprotocol import types as lsp

from reefline.lsp.state import DocumentState, to_range
from reefline.spec.diagnostics import Diagnostic, Severity
from reefline.spec.yaml_source import SourceMap, Span

SOURCE = "reefline"
_DID_YOU_MEAN = re.compile(r"did you mean '([^']+)'\?")
_WORDS = re.compile(r"[A-Za-z_][\w\-/]*")
_OTHER_WRITER = re.compile(r"which job '([^'\[]+)[^']*' already writes \(output '([^']+)'\)")
FLOW_HINT = "`${{ }}` inside a flow collection"


def to_lsp(state: DocumentState) -> list[lsp.Diagnostic]:
    return [_one(d, state) for d in state.result.diagnostics]


def _one(d: Diagnostic, state: DocumentState) -> lsp.Diagnostic:
    span = Span(d.line, d.col, d.end_line or d.line, d.end_col or d.col)
    if (span.end_line, span.end_col) <= (span.line, span.col):
        span = _word_at(state.lines, span)
    message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
    error = d.severity is Severity.ERROR
    severity = lsp.DiagnosticSeverity.Error if error else lsp.DiagnosticSeverity.Warning
    data: dict[str, Any] = {}
    fix = _fix(d, span, state.lines)
    if fix is not None:
        data["replace"], data["range"] = fix[0], _range_json(to_range(fix[1]))
    if d.hint and d.hint.startswith(FLOW_HINT):
        data["block"] = d.hint.split(":\n", 1)[1] if ":\n" in d.hint else None
    return lsp.Diagnostic(
        range=to_range(span),
        message=message,
        severity=severity,
        code=d.code,
        source=SOURCE,
        related_information=_related(d, state) or None,
        data=data or None,
    )


def _word_at(lines: list[str], span: Span) -> Span:
    """A point diagnostic widened to the word (or the rest of the line) it points at."""
    text = lines[span.line - 1] if 0 < span.line <= len(lines) else ""
    m = re.compile(r"\S+").match(text, span.col - 1)
    if m is None:
        return span
    return Span(span.line, span.col, span.line, m.end() + 1)


def _fix(d: Diagnostic, span: Span, lines: list[str]) -> tuple[str, Span] | None:
    m = _DID_YOU_MEAN.search(d.hint or "")
    if m is None or span.line != span.end_line or not 0 < span.line <= len(lines):
        return None
    suggestion = m[1]
    text = lines[span.line - 1][span.col - 1 : span.end_col - 1]
    if re.fullmatch(r"[\w\-/.]+", text):
        return (suggestion, span) if text != suggestion else None
    tail = suggestion.rsplit(".", 1)[-1]
    words = [w for w in _WORDS.finditer(text) if w.group() != tail]
    if not words:
        return None
    best = max(words, key=lambda w: difflib.SequenceMatcher(None, w.group(), tail).ratio())
    start = span.col + best.start()
    return tail, Span(span.line, start, span.line, start + len(best.group()))


def _related(d: Diagnostic, state: DocumentState) -> list[lsp.DiagnosticRelatedInformation]:
    source = state.tree.source if state.tree.exact else state.result.source
    other: Span | None = None
    label = ""
    if d.code == "RL102" and d.path in source.keys:
        other, label = source.keys[d.path], "first defined here"
    m = _OTHER_WRITER.search(d.message)
    if d.code == "RL207" and m is not None:
        other = _locate(source, ("jobs", m[1], "outputs", m[2], "path"))
        label = f"job '{m[1]}' writes it here (output '{m[2]}')"
    stages = state.data.get("stages")
    if d.code == "RL206" and isinstance(stages, list) and d.path[:1] == ("stages",):
        twice = stages[d.path[1]] if isinstance(d.path[1], int) and d.path[1] < len(stages) else None
        first = stages.index(twice) if twice in stages else None
        if first is not None:
            other, label = source.values.get(("stages", first)), "first listed here"
    if other is None or (other.line, other.col) == (d.line, d.col):
        return []
    location = lsp.Location(state.uri, to_range(other))
    return [lsp.DiagnosticRelatedInformation(location, label)]


def _locate(source: SourceMap, path: tuple[str, ...]) -> Span | None:
    return source.values.get(path)


def _range_json(r: lsp.Range) -> dict[str, Any]:
    return {
        "start": {"line": r.start.line, "character": r.start.character},
        "end": {"line": r.end.line, "character": r.end.character},
    }
