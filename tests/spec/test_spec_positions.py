"""Position → node, completion contexts, the tolerant parse and model introspection."""

from __future__ import annotations

from pathlib import Path

import pytest

from reefline.spec import introspect
from reefline.spec.positions import ContextKind, NodeKind, completion_context, node_at
from reefline.spec.tolerant import parse_tolerant
from reefline.spec.yaml_source import Span

IRIS = (Path(__file__).resolve().parents[2] / "examples" / "iris" / "reefline.yaml").read_text(
    encoding="utf-8"
)
LINES = IRIS.splitlines()


def _at(needle: str, offset: int | None = None, nth: int = 0) -> tuple[int, int]:
    """1-based (line, col) just after ``needle`` (or ``offset`` characters into it)."""
    at = -1
    for _ in range(nth + 1):
        at = IRIS.index(needle, at + 1)
    at += len(needle) if offset is None else offset
    return IRIS.count("\n", 0, at) + 1, at - (IRIS.rfind("\n", 0, at) + 1) + 1


@pytest.mark.parametrize(
    ("needle", "kind", "path", "prefix"),
    [
        ("    stage: prep", ContextKind.VALUE, ("jobs", "prepare", "stage"), "prep"),
        ("    needs: [", ContextKind.NEEDS, ("jobs", "evaluate", "needs", 0), ""),
        (
            "from: prepare.tr",
            ContextKind.FROM,
            ("jobs", "featurize", "inputs", "train", "from"),
            "prepare.tr",
        ),
        ("${{ params.te", ContextKind.TEMPLATE, ("jobs", "prepare", "script"), "params.te"),
        ("${{ outputs.mo", ContextKind.TEMPLATE, ("jobs", "train", "script"), "outputs.mo"),
        ("    descr", ContextKind.KEY, ("types", "dataset/iris"), "descr"),
        ("code: {path: steps/prepare.py, ty", ContextKind.KEY, ("jobs", "prepare", "inputs", "code"), "ty"),
        (
            "code: {path: steps/prepare.py, type: fi",
            ContextKind.VALUE,
            ("jobs", "prepare", "inputs", "code", "type"),
            "fi",
        ),
        ("stages: [prepare, feat", ContextKind.VALUE, ("stages", 1), "feat"),
        ("  seed: {ty", ContextKind.KEY, ("params", "seed"), "ty"),
        ("    retry: {max: 1, de", ContextKind.KEY, ("jobs", "train", "retry"), "de"),
    ],
)
def test_the_completion_context_of_a_position(
    needle: str, kind: ContextKind, path: tuple[object, ...], prefix: str
) -> None:
    line, col = _at(needle)
    ctx = completion_context(LINES, line, col)
    assert (ctx.kind, ctx.path, ctx.prefix) == (kind, path, prefix)
    assert ctx.start_col == col - len(prefix)


def test_a_block_list_item_under_needs_is_a_needs_context() -> None:
    lines = ["jobs:", "  b:", "    needs:", "      - a", "      - pre"]
    ctx = completion_context(lines, 5, 12)
    assert (ctx.kind, ctx.path, ctx.prefix, ctx.job) == (
        ContextKind.NEEDS,
        ("jobs", "b", "needs", 1),
        "pre",
        "b",
    )


def test_a_new_key_line_in_a_job_is_a_key_context_of_the_job() -> None:
    lines = ["jobs:", "  b:", "    script: echo", "    ", "  c:"]
    ctx = completion_context(lines, 4, 5)
    assert (ctx.kind, ctx.path, ctx.prefix) == (ContextKind.KEY, ("jobs", "b"), "")


def test_node_at_finds_the_key_or_the_value_under_the_cursor() -> None:
    tree = parse_tolerant(IRIS)
    node = node_at(tree.source, *_at("  featurize:", 4))
    assert node is not None and (node.kind, node.path) == (NodeKind.KEY, ("jobs", "featurize"))
    node = node_at(tree.source, *_at("from: prepare.train", 9))
    assert node is not None and (node.kind, node.path) == (
        NodeKind.VALUE,
        ("jobs", "featurize", "inputs", "train", "from"),
    )
    line, col = _at("from: prepare.train", 6)
    assert node.span == Span(line, col, line, col + len("prepare.train"))


def test_a_line_being_typed_is_left_out_and_the_rest_is_kept() -> None:
    text = IRIS.replace(
        "      test: {from: prepare.test, type: dataset/csv}", "      test: {from: prepare.te"
    )
    tree = parse_tolerant(text)
    assert not tree.exact
    assert list(tree.data["jobs"]["featurize"]["inputs"]) == ["train"]
    assert list(tree.data["jobs"]["featurize"]["outputs"]) == ["train", "test"]
    assert tree.source.lines == text.splitlines()


def test_the_edited_line_is_tried_first() -> None:
    text = IRIS.replace("    needs: []  ", "    needs: [pre  ")
    line = text[: text.index("needs: [pre")].count("\n") + 1
    tree = parse_tolerant(text, edited_line=line)
    assert tree.blanked == frozenset({line})
    assert "needs" not in tree.data["jobs"]["evaluate"] and "matrix" in tree.data["jobs"]["evaluate"]


def test_without_a_recovery_the_last_good_tree_is_mapped_onto_the_new_lines() -> None:
    good = parse_tolerant(IRIS)
    lines = list(LINES)
    for n in (80, 70, 60, 45, 30, 20, 10, 5):  # more broken lines than blanking tries
        lines.insert(n, "]]] :")
    tree = parse_tolerant("\n".join(lines) + "\n", previous=good)
    before = good.source.keys[("jobs", "train")]
    after = tree.source.keys[("jobs", "train")]
    assert (after.line, after.col) == (before.line + 5, before.col)  # 5 lines were inserted above it
    assert tree.data is good.data and not tree.exact


def test_introspection_of_keys_docs_and_annotations() -> None:
    assert introspect.known_keys(("jobs", "x"))[:4] == ["stage", "description", "needs", "script"]
    assert "from" in introspect.known_keys(("jobs", "x", "inputs", "i"))
    assert introspect.known_keys(("jobs",)) == []
    assert introspect.is_map(("jobs",)) and not introspect.is_map(("jobs", "x"))
    assert introspect.required_keys(()) == ["version", "name", "jobs"]
    assert introspect.key_doc(("jobs", "x", "from")) is None
    assert introspect.key_doc(("jobs", "x", "inputs", "i", "from")).startswith("`job.output`")
    assert (
        introspect.describe(introspect.annotation_at(("jobs", "x", "script")))
        == "a string or a list of strings"
    )
    assert introspect.literal_values(("jobs", "x", "when")) == [
        "on_success",
        "on_failure",
        "always",
        "manual",
    ]
    assert (
        introspect.model_doc(("jobs", "x"))
        == "A node of the pipeline graph: one unit of work that runs in the workspace."
    )
