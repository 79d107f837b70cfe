"""Completion: keys with their docs, job names in ``needs``, ``job.output`` in ``from:``, stage and
type names, literal values, and ``${{ params. / matrix. / inputs. / outputs. }}``.

The context comes from the current text; names come from the document's tree, which may be the last
good one while the user is in mid-edit.
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types as lsp

from reefline.lsp.state import DocumentState
from reefline.spec import introspect
from reefline.spec.positions import CompletionContext, ContextKind, completion_context
from reefline.spec.types import PREDEFINED, TypeRegistry

_ROOTS = {
    "params": "the pipeline's params",
    "matrix": "this job's matrix keys",
    "inputs": "this job's inputs",
    "outputs": "this job's outputs",
    "variables": "the pipeline's variables",
    "job": "this job (job.name)",
}


def complete(state: DocumentState, lines: list[str], line: int, col: int) -> list[lsp.CompletionItem]:
    """Items at the 1-based position of ``lines`` (the current text; ``state`` may be older)."""
    ctx = completion_context(lines, line, col)
    edit_range = lsp.Range(lsp.Position(line - 1, ctx.start_col - 1), lsp.Position(line - 1, col - 1))
    if ctx.kind is ContextKind.KEY:
        items = _keys(state, ctx)
    elif ctx.kind is ContextKind.NEEDS:
        items = _needs(state, ctx)
    elif ctx.kind is ContextKind.FROM:
        items = _from(state, ctx)
    elif ctx.kind is ContextKind.TEMPLATE:
        items = _template(state, ctx)
    else:
        items = _value(state, ctx)
    current = lines[line - 1] if 0 < line <= len(lines) else ""
    with_colon = ctx.kind is ContextKind.KEY and ":" not in current[col - 1 :]
    result: list[lsp.CompletionItem] = []
    for item in items:
        text = item.insert_text or item.label
        if with_colon and item.kind == lsp.CompletionItemKind.Property:
            text += ": "
        item.text_edit = lsp.TextEdit(edit_range, text)
        item.insert_text = None
        result.append(item)
    return result


def _item(label: str, kind: lsp.CompletionItemKind, detail: str | None = None, doc: str | None = None) -> Any:
    documentation = lsp.MarkupContent(lsp.MarkupKind.Markdown, doc) if doc else None
    return lsp.CompletionItem(label=label, kind=kind, detail=detail, documentation=documentation)


def _existing(state: DocumentState, path: tuple[str | int, ...]) -> set[str]:
    node: Any = state.data
    for comp in path:
        if isinstance(node, dict) and comp in node:  # noqa: SIM114 (narrowing)
            node = node[comp]
        elif isinstance(node, list) and isinstance(comp, int) and 0 <= comp < len(node):
            node = node[comp]
        else:
            return set()
    return {str(k) for k in node} if isinstance(node, dict) else set()


def _keys(state: DocumentState, ctx: CompletionContext) -> list[lsp.CompletionItem]:
    present = _existing(state, ctx.path) - {ctx.prefix}
    required = set(introspect.required_keys(ctx.path))
    items = []
    for key in introspect.known_keys(ctx.path):
        if key in present:
            continue
        path = (*ctx.path, key)
        doc = introspect.key_doc(path) or ""
        expects = introspect.describe(introspect.annotation_at(path))
        detail = f"{expects}{' (required)' if key in required else ''}"
        item = _item(key, lsp.CompletionItemKind.Property, detail, doc)
        item.sort_text = ("0" if key in required else "1") + key
        items.append(item)
    return items


def _needs(state: DocumentState, ctx: CompletionContext) -> list[lsp.CompletionItem]:
    listed = state.job(ctx.job).get("needs")
    taken = {str(x) for x in listed} if isinstance(listed, list) else set()
    items = []
    for name, job in state.jobs().items():
        if name == ctx.job or (name in taken and name != ctx.prefix):
            continue
        stage = _dict(job).get("stage")
        items.append(
            _item(
                name,
                lsp.CompletionItemKind.Reference,
                f"job, stage {stage}" if stage else "job",
                _text(_dict(job).get("description")),
            )
        )
    return items


def _outputs(job: dict[str, Any]) -> dict[str, dict[str, Any]]:
    outputs = job.get("outputs")
    result = (
        {str(k): (v if isinstance(v, dict) else {}) for k, v in outputs.items()}
        if isinstance(outputs, dict)
        else {}
    )
    if isinstance(job.get("metrics"), str):
        result["metrics"] = {"path": job["metrics"], "type": "metrics/json"}
    return result


def _from(state: DocumentState, ctx: CompletionContext) -> list[lsp.CompletionItem]:
    items = []
    for name, job in state.jobs().items():
        if name == ctx.job or not isinstance(job, dict):
            continue
        for output, spec in _outputs(job).items():
            kind = str(spec.get("type") or "file")
            doc = _text(spec.get("description")) or f"`{spec.get('path', '')}`"
            items.append(_item(f"{name}.{output}", lsp.CompletionItemKind.Reference, kind, doc))
    return items


def _value(state: DocumentState, ctx: CompletionContext) -> list[lsp.CompletionItem]:
    path = ctx.path
    key = next((c for c in reversed(path) if isinstance(c, str)), "")
    if key == "stage" and len(path) == 3 and path[0] == "jobs":
        stages = state.data.get("stages")
        names = [str(s) for s in stages] if isinstance(stages, list) else ["default"]
        return [_item(s, lsp.CompletionItemKind.EnumMember, "stage") for s in names]
    if (key == "type" and len(path) >= 5) or (key == "extends" and path[:1] == ("types",)):
        return _types(state)
    if key == "params" and len(path) >= 3 and path[0] == "jobs":
        return [_item(name, lsp.CompletionItemKind.Variable, "param") for name in _params(state)]
    values = introspect.literal_values(path)
    return [
        _item(
            _yaml(v), lsp.CompletionItemKind.EnumMember, introspect.describe(introspect.annotation_at(path))
        )
        for v in values
    ]


def _types(state: DocumentState) -> list[lsp.CompletionItem]:
    custom = state.data.get("types")
    custom = custom if isinstance(custom, dict) else {}
    items = []
    for name in TypeRegistry().names():
        items.append(_item(name, lsp.CompletionItemKind.Class, "type", PREDEFINED[name].description))
    for name, value in custom.items():
        spec = _dict(value)
        items.append(
            _item(
                str(name),
                lsp.CompletionItemKind.Class,
                f"type, extends {spec.get('extends', 'file')}",
                _text(spec.get("description")),
            )
        )
    return items


def _params(state: DocumentState) -> dict[str, Any]:
    params = state.data.get("params")
    return {str(k): v for k, v in params.items()} if isinstance(params, dict) else {}


def _template(state: DocumentState, ctx: CompletionContext) -> list[lsp.CompletionItem]:
    root, dot, rest = ctx.prefix.partition(".")
    if not dot:
        roots = _ROOTS if ctx.job else {k: v for k, v in _ROOTS.items() if k in ("params", "variables")}
        return [_item(r, lsp.CompletionItemKind.Module, d) for r, d in roots.items()]
    job = state.job(ctx.job)
    names: dict[str, tuple[str | None, str | None]] = {}
    if root == "params":
        for name, spec in _params(state).items():
            if isinstance(spec, dict):
                names[name] = (
                    f"param: {spec.get('type') or 'value'} = {spec.get('default')!r}",
                    _text(spec.get("description")),
                )
            else:
                names[name] = (f"param = {spec!r}", None)
    elif root == "variables":
        variables = state.data.get("variables")
        names = (
            {str(k): (f"variable = {v!r}", None) for k, v in variables.items()}
            if isinstance(variables, dict)
            else {}
        )
    elif root == "matrix" and isinstance(job.get("matrix"), dict):
        names = {str(k): (f"matrix key: {v}", None) for k, v in job["matrix"].items()}
    elif root in ("inputs", "outputs"):
        table = _outputs(job) if root == "outputs" else job.get("inputs")
        table = table if isinstance(table, dict) else {}
        if "." in rest:
            return [_item("path", lsp.CompletionItemKind.Field, "the file's path in the workspace")]
        for name, value in table.items():
            spec = _dict(value)
            names[str(name)] = (str(spec.get("type") or "file"), _text(spec.get("description")))
    items = []
    for name, (detail, doc) in names.items():
        item = _item(f"{root}.{name}", lsp.CompletionItemKind.Variable, detail, doc)
        item.filter_text = f"{root}.{name}"
        items.append(item)
    return items


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _yaml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
