"""Code actions: the "did you mean" fixes of the diagnostics, and writing a flow collection that holds
``${{ }}`` in block form."""

from __future__ import annotations

from typing import Any

from lsprotocol import types as lsp

from reefline.lsp.diagnostics import SOURCE
from reefline.lsp.state import DocumentState


def code_actions(state: DocumentState, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
    actions: list[lsp.CodeAction] = []
    for diag in params.context.diagnostics:
        if diag.source != SOURCE or not isinstance(diag.data, dict):
            continue
        data: dict[str, Any] = diag.data
        if isinstance(data.get("replace"), str) and isinstance(data.get("range"), dict):
            edit_range = _range(data["range"])
            title = f"Change to '{data['replace']}'"
            actions.append(_action(title, state.uri, edit_range, data["replace"], diag))
        if isinstance(data.get("block"), str):
            fix = _block_fix(state, diag, data["block"])
            if fix is not None:
                actions.append(fix)
    return actions


def _block_fix(state: DocumentState, diag: lsp.Diagnostic, block: str) -> lsp.CodeAction | None:
    head = block.split("\n", 1)[0].strip()
    lines = state.text.splitlines()
    for n in (diag.range.start.line, diag.range.start.line - 1, diag.range.start.line + 1):
        if 0 <= n < len(lines) and "${{" in lines[n] and lines[n].strip().startswith(head):
            whole = lsp.Range(lsp.Position(n, 0), lsp.Position(n, len(lines[n])))
            return _action("Write the list in block form", state.uri, whole, block, diag)
    return None


def _action(title: str, uri: str, r: lsp.Range, text: str, diag: lsp.Diagnostic) -> lsp.CodeAction:
    edit = lsp.WorkspaceEdit(changes={uri: [lsp.TextEdit(r, text)]})
    return lsp.CodeAction(
        title=title, kind=lsp.CodeActionKind.QuickFix, diagnostics=[diag], edit=edit, is_preferred=True
    )


def _range(raw: dict[str, Any]) -> lsp.Range:
    start, end = raw["start"], raw["end"]
    return lsp.Range(
        lsp.Position(int(start["line"]), int(start["character"])),
        lsp.Position(int(end["line"]), int(end["character"])),
    )
