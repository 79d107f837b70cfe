"""Every definition of and reference to a named thing in a document, with exact spans.

Named things: jobs, their inputs, outputs and matrix keys, params, stages and types. References are
``needs`` items, ``from: job.output``, ``stage:``, ``type:``/``extends:``, a job's ``params:`` list,
``${{ params.x }}``-style templates and ``params.x`` in ``if:``. An occurrence is kept only when the
text at its span is exactly the name, so a rename never edits the wrong characters.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from reefline.spec.diagnostics import FieldPath
from reefline.spec.positions import contains
from reefline.spec.templating import scan
from reefline.spec.tolerant import Tree
from reefline.spec.yaml_source import Span

_IF_REF = re.compile(r"(?<![\w.])(params|matrix)\.([A-Za-z_][\w-]*)")
RENAMEABLE = frozenset({"job", "output", "input", "param", "matrix"})


@dataclass(frozen=True, slots=True)
class Symbol:
    kind: str  # job, output, input, matrix, param, stage, type
    name: str  # what the user writes (an output's own name, not job.output)
    owner: str | None = None  # the job of an output, input or matrix key

    @property
    def label(self) -> str:
        return f"{self.owner}.{self.name}" if self.owner else self.name


@dataclass(frozen=True, slots=True)
class Occurrence:
    symbol: Symbol
    span: Span
    definition: bool


@dataclass(slots=True)
class Index:
    occurrences: list[Occurrence] = field(default_factory=list)
    by_symbol: dict[Symbol, list[Occurrence]] = field(default_factory=lambda: defaultdict(list))

    def at(self, line: int, col: int) -> Occurrence | None:
        for occ in self.occurrences:
            if contains(occ.span, line, col):
                return occ
        return None

    def of(self, symbol: Symbol) -> list[Occurrence]:
        return list(self.by_symbol.get(symbol, []))

    def definition(self, symbol: Symbol) -> Occurrence | None:
        return next((o for o in self.of(symbol) if o.definition), None)

    @staticmethod
    def build(tree: Tree) -> Index:
        builder = _Builder(tree)
        builder.run()
        return builder.index


class _Builder:
    def __init__(self, tree: Tree) -> None:
        self.source = tree.source
        self.data: dict[str, Any] = tree.data if isinstance(tree.data, dict) else {}
        self.index = Index()

    def add(self, symbol: Symbol, span: Span | None, definition: bool = False) -> None:
        if span is None or span.line != span.end_line or not 0 < span.line <= len(self.source.lines):
            return
        text = self.source.lines[span.line - 1][span.col - 1 : span.end_col - 1]
        if text != symbol.name:
            return
        occ = Occurrence(symbol, span, definition)
        self.index.occurrences.append(occ)
        self.index.by_symbol[symbol].append(occ)

    def key(self, path: FieldPath) -> Span | None:
        return self.source.keys.get(path)

    def inside(self, path: FieldPath, offset: int, length: int) -> Span | None:
        if path not in self.source.scalars:
            return None
        return self.source.scalar_position(path, offset, length)

    def run(self) -> None:
        for name in _mapping(self.data.get("params")):
            self.add(Symbol("param", name), self.key(("params", name)), True)
        for i, stage in enumerate(_list(self.data.get("stages"))):
            if isinstance(stage, str):
                self.add(Symbol("stage", stage), self.inside(("stages", i), 0, len(stage)), True)
        for name, spec in _mapping(self.data.get("types")).items():
            self.add(Symbol("type", name), self.key(("types", name)), True)
            if isinstance(spec, dict):
                self.value_ref("type", ("types", name, "extends"), spec.get("extends"))
        for name, job in _mapping(self.data.get("jobs")).items():
            self.add(Symbol("job", name), self.key(("jobs", name)), True)
            if isinstance(job, dict):
                self.job(name, job)
        self.templates((), self.data, None)

    def value_ref(self, kind: str, path: FieldPath, value: Any) -> None:
        if isinstance(value, str) and value:
            self.add(Symbol(kind, value), self.inside(path, 0, len(value)))

    def job(self, name: str, job: dict[str, Any]) -> None:
        base: FieldPath = ("jobs", name)
        self.value_ref("stage", (*base, "stage"), job.get("stage"))
        for i, dep in enumerate(_list(job.get("needs"))):
            self.value_ref("job", (*base, "needs", i), dep)
        for i, param in enumerate(_list(job.get("params"))):
            self.value_ref("param", (*base, "params", i), param)
        for key in _mapping(job.get("matrix")):
            self.add(Symbol("matrix", key, name), self.key((*base, "matrix", key)), True)
        for out, spec in _mapping(job.get("outputs")).items():
            self.add(Symbol("output", out, name), self.key((*base, "outputs", out)), True)
            if isinstance(spec, dict):
                self.value_ref("type", (*base, "outputs", out, "type"), spec.get("type"))
        if "metrics" in job:
            self.add(Symbol("output", "metrics", name), self.key((*base, "metrics")), True)
        for inp, spec in _mapping(job.get("inputs")).items():
            self.add(Symbol("input", inp, name), self.key((*base, "inputs", inp)), True)
            if isinstance(spec, dict):
                self.value_ref("type", (*base, "inputs", inp, "type"), spec.get("type"))
                self.from_ref((*base, "inputs", inp, "from"), spec.get("from"))
        condition = job.get("if")
        if isinstance(condition, str):
            for m in _IF_REF.finditer(condition):
                symbol = Symbol(
                    m[1][:-1] if m[1] == "params" else "matrix", m[2], None if m[1] == "params" else name
                )
                self.add(symbol, self.inside((*base, "if"), m.start(2), len(m[2])))

    def from_ref(self, path: FieldPath, value: Any) -> None:
        if not isinstance(value, str) or "." not in value:
            return
        producer, _, output = value.partition(".")
        self.add(Symbol("job", producer), self.inside(path, 0, len(producer)))
        self.add(Symbol("output", output, producer), self.inside(path, len(producer) + 1, len(output)))

    def templates(self, path: FieldPath, value: Any, job: str | None) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                inner = str(k) if path == ("jobs",) else job
                self.templates((*path, k), v, inner)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                self.templates((*path, i), v, job)
        elif isinstance(value, str) and "${{" in value:
            refs, _ = scan(value)
            for ref in refs:
                if not ref.parts:
                    continue
                kind = {"params": "param", "matrix": "matrix", "inputs": "input", "outputs": "output"}.get(
                    ref.root
                )
                if kind is None or (kind != "param" and job is None):
                    continue
                offset = ref.start + ref.source.index(ref.root) + len(ref.root) + 1
                symbol = Symbol(kind, ref.parts[0], None if kind == "param" else job)
                self.add(symbol, self.inside(path, offset, len(ref.parts[0])))


def _mapping(value: Any) -> dict[str, Any]:
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
