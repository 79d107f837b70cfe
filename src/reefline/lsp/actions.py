"""Code actions: the "did you mean" fixes of the diagnostics, and writing a flow collection that holds
``${{ }}`` in block form."""

from __future__ import annotations

import re
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
                quoted = _quote_fix(state, diag, fix)
                if quoted is not None:
                    actions.append(quoted)
    return actions


def _block_fix(state: DocumentState, diag: lsp.Diagnostic, block: str) -> lsp.CodeAction | None:
    head = block.split("\n", 1)[0].strip()
    lines = state.text.splitlines()
    for n in (diag.range.start.line, diag.range.start.line - 1, diag.range.start.line + 1):
        if 0 <= n < len(lines) and "${{" in lines[n] and lines[n].strip().startswith(head):
            whole = lsp.Range(lsp.Position(n, 0), lsp.Position(n, len(lines[n])))
            return _action("Write the list in block form", state.uri, whole, block, diag)
    return None


def _quote_fix(state: DocumentState, diag: lsp.Diagnostic, block: lsp.CodeAction) -> lsp.CodeAction | None:
    """The same line with every item holding ``${{ }}`` in double quotes."""
    assert block.edit is not None and block.edit.changes is not None
    [edit] = block.edit.changes[state.uri]
    line = state.text.splitlines()[edit.range.start.line]
    m = re.match(r"^(?P<head>[^\[{]*?:\s*)(?P<open>[\[{])(?P<body>.*)(?P<close>[\]}])(?P<tail>\s*)$", line)
    if m is None:
        return None
    mapping = m["open"] == "{"
    items = [_quote(item, mapping) for item in _split(m["body"])]
    text = f"{m['head']}{m['open']}{', '.join(items)}{m['close']}{m['tail']}"
    return _action("Quote the items that use ${{ }}", state.uri, edit.range, text, diag)


def _split(body: str) -> list[str]:
    """Top-level items of a flow collection's body; ``${{ … }}`` and quotes are opaque."""
    items, current, i = [], "", 0
    while i < len(body):
        if body.startswith("${{", i):
            end = body.find("}}", i)
            end = len(body) if end < 0 else end + 2
            current, i = current + body[i:end], end
            continue
        if body[i] in "'\"":
            end = body.find(body[i], i + 1)
            end = len(body) if end < 0 else end + 1
            current, i = current + body[i:end], end
            continue
        if body[i] == ",":
            items.append(current.strip())
            current = ""
        else:
            current += body[i]
        i += 1
    if current.strip():
        items.append(current.strip())
    return items


def _quote(item: str, mapping: bool) -> str:
    key, value = "", item
    if mapping and ":" in item.split("${{", 1)[0]:
        name, _, value = item.partition(":")
        key, value = f"{name.strip()}: ", value.strip()
    if "${{" not in value or value[:1] in "'\"":
        return key + value
    return key + '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


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
