"""Go to definition, find references, rename, and the document outline (by stage, then job)."""

from __future__ import annotations

from typing import Any

from lsprotocol import types as lsp

from reefline.lsp.state import DocumentState, to_range
from reefline.spec.rename import RenameRefused, rename_edits
from reefline.spec.symbols import RENAMEABLE, Occurrence
from reefline.spec.yaml_source import Span

__all__ = ["RenameRefused", "definition", "prepare_rename", "references", "rename", "symbols"]


def definition(state: DocumentState, line: int, col: int) -> list[lsp.Location]:
    occ = state.index.at(line, col)
    if occ is None:
        return []
    target = state.index.definition(occ.symbol)
    return [lsp.Location(state.uri, to_range(target.span))] if target is not None else []


def references(state: DocumentState, line: int, col: int, include_declaration: bool) -> list[lsp.Location]:
    occ = state.index.at(line, col)
    if occ is None:
        return []
    found = [o for o in state.index.of(occ.symbol) if include_declaration or not o.definition]
    return [lsp.Location(state.uri, to_range(o.span)) for o in _ordered(found)]


def prepare_rename(state: DocumentState, line: int, col: int) -> lsp.Range | None:
    occ = state.index.at(line, col)
    if occ is None or occ.symbol.kind not in RENAMEABLE:
        return None
    if occ.symbol.kind == "output" and occ.symbol.name == "metrics":
        return None  # the output of `metrics:` is always named metrics
    return to_range(occ.span)


def rename(state: DocumentState, line: int, col: int, new_name: str) -> lsp.WorkspaceEdit | None:
    """Every definition and reference of the symbol at the position, renamed."""
    occ = state.index.at(line, col)
    if occ is None or prepare_rename(state, line, col) is None:
        return None
    edits = [
        lsp.TextEdit(to_range(span), text) for span, text in rename_edits(state.index, occ.symbol, new_name)
    ]
    return lsp.WorkspaceEdit(changes={state.uri: edits})


def _ordered(occurrences: list[Occurrence]) -> list[Occurrence]:
    return sorted(occurrences, key=lambda o: (o.span.line, o.span.col))


def symbols(state: DocumentState) -> list[lsp.DocumentSymbol]:
    """The outline: params, types, then each stage with its jobs (and their inputs and outputs)."""
    source = state.tree.source
    data = state.data
    result: list[lsp.DocumentSymbol] = []
    for section, kind in (("params", lsp.SymbolKind.Variable), ("types", lsp.SymbolKind.Class)):
        table = data.get(section)
        if not isinstance(table, dict) or (section,) not in source.keys:
            continue
        children = [_entry(state, (section, str(name)), str(name), kind) for name in table]
        result.append(
            _symbol(
                section,
                lsp.SymbolKind.Namespace,
                _whole(state, (section,)),
                source.keys[(section,)],
                [c for c in children if c],
            )
        )
    stages = data.get("stages")
    names = [str(s) for s in stages] if isinstance(stages, list) and stages else ["default"]
    by_stage: dict[str, list[lsp.DocumentSymbol]] = {s: [] for s in names}
    for name, job in state.jobs().items():
        stage = str(job.get("stage") or names[0]) if isinstance(job, dict) else names[0]
        symbol = _job(state, name, job, stage)
        if symbol is not None:
            by_stage.setdefault(stage, []).append(symbol)
    for i, (stage, jobs) in enumerate(by_stage.items()):
        own = source.values.get(("stages", i)) if i < len(names) and names[i] == stage else None
        if not jobs and own is None:
            continue
        spans = [j.range for j in jobs]
        if own is not None and not jobs:
            spans = [to_range(own)]
        start = min((r.start.line, r.start.character) for r in spans)
        end = max((r.end.line, r.end.character) for r in spans)
        whole = lsp.Range(lsp.Position(*start), lsp.Position(*end))
        selection = lsp.Range(whole.start, whole.start) if jobs else whole
        result.append(
            lsp.DocumentSymbol(
                name=stage,
                kind=lsp.SymbolKind.Namespace,
                range=whole,
                selection_range=selection,
                detail="stage",
                children=jobs,
            )
        )
    return result


def _job(state: DocumentState, name: str, job: Any, stage: str) -> lsp.DocumentSymbol | None:
    key = state.tree.source.keys.get(("jobs", name))
    if key is None:
        return None
    children: list[lsp.DocumentSymbol] = []
    if isinstance(job, dict):
        for table, kind in (("inputs", lsp.SymbolKind.Field), ("outputs", lsp.SymbolKind.Property)):
            for item in job.get(table) or {} if isinstance(job.get(table), dict) else {}:
                entry = _entry(state, ("jobs", name, table, str(item)), str(item), kind)
                if entry is not None:
                    entry.detail = table[:-1]
                    children.append(entry)
    return _symbol(
        name, lsp.SymbolKind.Function, _whole(state, ("jobs", name)), key, children, detail=f"stage {stage}"
    )


def _entry(
    state: DocumentState, path: tuple[str, ...], name: str, kind: lsp.SymbolKind
) -> lsp.DocumentSymbol | None:
    key = state.tree.source.keys.get(path)
    if key is None:
        return None
    return _symbol(name, kind, _whole(state, path), key, [])


def _whole(state: DocumentState, path: tuple[str, ...]) -> Span:
    key = state.tree.source.keys.get(path)
    value = state.tree.source.values.get(path)
    if key is None:
        return value or Span(1, 1, 1, 1)
    if value is None or (value.end_line, value.end_col) < (key.end_line, key.end_col):
        return key
    return Span(key.line, key.col, value.end_line, value.end_col)


def _symbol(
    name: str,
    kind: lsp.SymbolKind,
    whole: Span,
    key: Span,
    children: list[lsp.DocumentSymbol],
    *,
    detail: str | None = None,
) -> lsp.DocumentSymbol:
    return lsp.DocumentSymbol(
        name=name,
        kind=kind,
        range=to_range(whole),
        selection_range=to_range(key),
        detail=detail,
        children=children or None,
    )
