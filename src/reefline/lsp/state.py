"""One open document: its text, the validator's result, and a tree that survives half-typed edits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lsprotocol import types as lsp

from reefline.spec.loader import LoadResult, load_spec
from reefline.spec.symbols import Index
from reefline.spec.tolerant import Tree, parse_tolerant
from reefline.spec.yaml_source import Span


@dataclass(slots=True)
class DocumentState:
    uri: str
    text: str
    result: LoadResult
    tree: Tree
    _index: Index | None = field(default=None, repr=False)

    @property
    def lines(self) -> list[str]:
        return self.tree.source.lines

    @property
    def data(self) -> dict[str, Any]:
        """The raw data as a mapping ({} when the document is not one)."""
        return self.tree.data if isinstance(self.tree.data, dict) else {}

    @property
    def index(self) -> Index:
        """Every named thing and its references, built on first use."""
        if self._index is None:
            self._index = Index.build(self.tree)
        return self._index

    def jobs(self) -> dict[str, Any]:
        jobs = self.data.get("jobs")
        return jobs if isinstance(jobs, dict) else {}

    def job(self, name: str | None) -> dict[str, Any]:
        job = self.jobs().get(name) if name is not None else None
        return job if isinstance(job, dict) else {}


def analyze(
    uri: str, text: str, previous: DocumentState | None = None, edited_line: int | None = None
) -> DocumentState:
    """Validate ``text`` as the CLI does; keep the best tree: its own, recovered, or the last good one."""
    result = load_spec(text, file=uri_to_name(uri))
    if result.data is not None or (result.diagnostics and result.diagnostics[0].code != "RL101"):
        tree = Tree(result.data, result.source)
    else:
        last = previous.tree if previous is not None and previous.tree.data is not None else None
        tree = parse_tolerant(text, uri_to_name(uri), last, edited_line)
    return DocumentState(uri, text, result, tree)


def uri_to_name(uri: str) -> str:
    return uri.rsplit("/", 1)[-1] or "reefline.yaml"


def to_range(span: Span) -> lsp.Range:
    """A spec span (1-based, end exclusive) as an LSP range (0-based)."""
    end_line, end_col = (span.end_line, span.end_col) if span.end_line else (span.line, span.col)
    return lsp.Range(
        lsp.Position(max(span.line - 1, 0), max(span.col - 1, 0)),
        lsp.Position(max(end_line - 1, 0), max(end_col - 1, 0)),
    )


def from_position(pos: lsp.Position) -> tuple[int, int]:
    """An LSP position as the spec's 1-based (line, col)."""
    return pos.line + 1, pos.character + 1
