"""Hover: a key's documentation; a job's summary (stage, needs, inputs and outputs with their types);
an artifact's type and description; a param, stage or type."""

from __future__ import annotations

from typing import Any

from lsprotocol import types as lsp

from reefline.lsp.state import DocumentState, to_range
from reefline.spec import introspect
from reefline.spec.positions import NodeKind, node_at
from reefline.spec.symbols import Symbol
from reefline.spec.types import TypeRegistry


def hover(state: DocumentState, line: int, col: int) -> lsp.Hover | None:
    occ = state.index.at(line, col)
    if occ is not None:
        text = summary(state, occ.symbol)
        if text:
            return _hover(text, to_range(occ.span))
    node = node_at(state.tree.source, line, col)
    if node is None or node.kind is not NodeKind.KEY:
        return None
    doc = introspect.key_doc(node.path)
    if doc is None:
        return None
    expects = introspect.describe(introspect.annotation_at(node.path))
    return _hover(f"**{node.path[-1]}**: {expects}\n\n{doc}", to_range(node.span))


def _hover(text: str, r: lsp.Range) -> lsp.Hover:
    return lsp.Hover(lsp.MarkupContent(lsp.MarkupKind.Markdown, text), r)


def summary(state: DocumentState, symbol: Symbol) -> str | None:
    if symbol.kind == "job":
        return job_summary(state, symbol.name)
    if symbol.kind in ("output", "input"):
        return _artifact(state, symbol)
    if symbol.kind == "param":
        return _param(state, symbol.name)
    if symbol.kind == "type":
        return f"**type** {_registry(state).describe(symbol.name)}"
    if symbol.kind == "stage":
        jobs = [n for n, j in state.jobs().items() if _dict(j).get("stage") == symbol.name]
        return f"**stage `{symbol.name}`**: " + (", ".join(f"`{j}`" for j in jobs) or "no jobs")
    if symbol.kind == "matrix":
        values = _dict(state.job(symbol.owner).get("matrix")).get(symbol.name)
        return f"**matrix key `{symbol.name}`** of job `{symbol.owner}`: {values}"
    return None


def job_summary(state: DocumentState, name: str) -> str | None:
    job = state.jobs().get(name)
    if not isinstance(job, dict):
        return None
    stages = state.data.get("stages")
    stage = job.get("stage") or (stages[0] if isinstance(stages, list) and stages else "default")
    lines = [f"**job `{name}`** · stage `{stage}`"]
    if isinstance(job.get("description"), str):
        lines += ["", job["description"]]
    producers = sorted(
        {
            str(spec["from"]).split(".")[0]
            for spec in _dict(job.get("inputs")).values()
            if isinstance(spec, dict) and isinstance(spec.get("from"), str)
        }
    )
    needs = job.get("needs")
    if isinstance(needs, list):
        shown = ", ".join(f"`{n}`" for n in sorted({*map(str, needs), *producers})) or "nothing"
        lines += ["", f"needs: {shown}"]
    else:
        extra = f", and {', '.join(f'`{p}`' for p in producers)}" if producers else ""
        lines += ["", f"needs: every job of earlier stages{extra}"]
    inputs = _dict(job.get("inputs"))
    if inputs:
        lines += ["", "inputs:"]
        for key, value in inputs.items():
            spec = _dict(value)
            where = f"← `{spec['from']}`" if "from" in spec else f"`{spec.get('path', '')}`"
            lines.append(f"- `{key}`: {spec.get('type') or 'file'} {where}")
    outputs = _dict(job.get("outputs"))
    if outputs or "metrics" in job:
        lines += ["", "outputs:"]
        for key, value in outputs.items():
            spec = _dict(value)
            lines.append(f"- `{key}`: {spec.get('type') or 'file'} → `{spec.get('path', '')}`")
        if "metrics" in job:
            lines.append(f"- `metrics`: metrics/json → `{job['metrics']}`")
    return "\n".join(lines)


def _artifact(state: DocumentState, symbol: Symbol) -> str | None:
    job = state.job(symbol.owner)
    table = "outputs" if symbol.kind == "output" else "inputs"
    if symbol.kind == "output" and symbol.name == "metrics" and "metrics" in job:
        spec: dict[str, Any] = {"type": "metrics/json", "path": job["metrics"]}
    else:
        spec = _dict(_dict(job.get(table)).get(symbol.name))
    kind = str(spec.get("type") or "file")
    lines = [f"**{symbol.kind} `{symbol.owner}.{symbol.name}`**: {kind}"]
    if spec.get("description"):
        lines += ["", str(spec["description"])]
    if spec.get("from"):
        lines += ["", f"from `{spec['from']}`"]
    if spec.get("path"):
        lines += ["", f"path `{spec['path']}`"]
    lines += ["", _registry(state).describe(kind)]
    return "\n".join(lines)


def _param(state: DocumentState, name: str) -> str | None:
    params = _dict(state.data.get("params"))
    if name not in params:
        return None
    spec = params[name]
    if not isinstance(spec, dict):
        return f"**param `{name}`** = `{spec!r}`"
    head = f"**param `{name}`**: {spec.get('type') or 'value'} = `{spec.get('default')!r}`"
    return head + (f"\n\n{spec['description']}" if spec.get("description") else "")


def _registry(state: DocumentState) -> TypeRegistry:
    from reefline.spec.models import ArtifactType

    custom = {}
    for name, spec in _dict(state.data.get("types")).items():
        try:
            custom[str(name)] = ArtifactType.model_validate(spec or {})
        except ValueError:
            continue
    return TypeRegistry(custom)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
