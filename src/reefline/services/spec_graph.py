"""A spec's editor graph and its diagnostics, from one load of the text (the editor asks on every pause)."""

from __future__ import annotations

from dataclasses import dataclass

from reefline.services.validation import ValidationReport, report_for
from reefline.spec.editor_graph import SpecGraph, build_graph
from reefline.spec.loader import load_spec
from reefline.spec.tolerant import Tree, parse_tolerant


@dataclass(frozen=True, slots=True)
class GraphReport:
    graph: SpecGraph
    report: ValidationReport


def graph_of_text(text: str, file: str = "reefline.yaml") -> GraphReport:
    """The graph of ``text`` (recovered when the YAML does not parse) and what ``validate`` says of it."""
    result = load_spec(text, file)
    report, _ = report_for(result, file)
    tree = Tree(result.data, result.source) if result.data is not None else parse_tolerant(text, file)
    return GraphReport(build_graph(tree), report)
