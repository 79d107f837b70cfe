"""Structured YAML edits: each changes only the lines it must, keeps comments and key order, and
hostile documents give an EditError naming the edit, never a traceback."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from reefline.spec import load_spec
from reefline.spec.edits import Edit, EditError, apply_edits

EDITS = TypeAdapter(list[Edit])
FIXTURES = Path(__file__).parent.parent / "fixtures" / "specs" / "valid"

SPEC = """\
version: 1
name: demo   # the name
# stages in order
stages: [prepare, train]
jobs:
  # make the data
  prepare:
    stage: prepare
    script: echo prepared > data.csv   # writes it
    outputs:
      data: {path: data.csv, type: dataset/csv}

  # learn from it
  train:
    stage: train
    needs: [prepare]
    inputs:
      data: {from: prepare.data}
    script:
      - "cat data.csv"
  report:
    stage: train
    needs:
      - train
      - prepare
    script: 'echo done'
"""


def _apply(text: str, *edits: dict[str, Any]) -> str:
    return apply_edits(text, EDITS.validate_python(list(edits)))


def _changes(before: str, after: str) -> tuple[list[str], list[str]]:
    """(lines removed, lines added): everything else is byte-for-byte the same, in the same order."""
    removed, added = [], []
    for line in difflib.ndiff(before.splitlines(keepends=True), after.splitlines(keepends=True)):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


def test_rename_job_changes_only_the_key_and_its_references() -> None:
    after = _apply(SPEC, {"op": "rename_job", "name": "prepare", "new_name": "prep"})
    removed, added = _changes(SPEC, after)
    assert removed == [
        "  prepare:\n",
        "    needs: [prepare]\n",
        "      data: {from: prepare.data}\n",
        "      - prepare\n",
    ]
    assert added == ["  prep:\n", "    needs: [prep]\n", "      data: {from: prep.data}\n", "      - prep\n"]
    assert load_spec(after).ok


def test_delete_job_cuts_its_lines_with_its_comment_and_drops_what_named_it() -> None:
    after = _apply(SPEC, {"op": "delete_job", "name": "prepare"})
    removed, added = _changes(SPEC, after)
    assert added == []
    assert removed[:6] == [
        "  # make the data\n",
        "  prepare:\n",
        "    stage: prepare\n",
        "    script: echo prepared > data.csv   # writes it\n",
        "    outputs:\n",
        "      data: {path: data.csv, type: dataset/csv}\n",
    ]
    assert "  # learn from it\n" in after and "prepare" not in after.split("stages:")[1].split("\n", 1)[1]
    assert "needs: [prepare]" not in after and "- prepare" not in after and "from: prepare" not in after


def test_add_connect_and_set_field_append_lines_and_keep_the_rest() -> None:
    after = _apply(
        SPEC,
        {"op": "add_job", "name": "evaluate", "stage": "train"},
        {"op": "add_output", "job": "train", "name": "model", "path": "model.pkl", "type": "model/pickle"},
        {"op": "connect", "from": "train.model", "to": "evaluate.model"},
        {"op": "set_field", "job": "evaluate", "path": ["timeout"], "value": "5m"},
        {"op": "set_field", "job": "report", "path": ["script"], "value": None},
        {"op": "set_field", "job": "report", "path": ["run"], "value": "steps.report:main"},
    )
    removed, added = _changes(SPEC, after)
    assert removed == ["    script: 'echo done'\n"]
    assert added == [
        "    outputs:\n",
        "      model: {path: model.pkl, type: model/pickle}\n",
        "    run: steps.report:main\n",
        "  evaluate:\n",
        "    stage: train\n",
        "    script: echo evaluate\n",
        "    inputs:\n",
        "      model: {from: train.model, type: model/pickle}\n",
        "    timeout: 5m\n",
    ]
    assert load_spec(after).ok


def test_connect_to_an_existing_input_and_disconnect() -> None:
    after = _apply(SPEC, {"op": "add_input", "job": "report", "name": "data", "path": "data.csv"})
    after = _apply(after, {"op": "connect", "from": "prepare.data", "to": "report.data"})
    assert "    script: 'echo done'\n    inputs:\n      data: {from: prepare.data}\n" in after
    gone = _apply(SPEC, {"op": "disconnect", "to": "train.data"})
    assert _changes(SPEC, gone) == (["    inputs:\n", "      data: {from: prepare.data}\n"], [])


def test_crlf_and_a_missing_final_newline_are_kept() -> None:
    text = SPEC.replace("\n", "\r\n").rstrip("\r\n")
    after = _apply(text, {"op": "set_field", "job": "train", "path": ["timeout"], "value": "1h"})
    assert after.count("\r\n") == text.count("\r\n") + 1 and "\n" not in after.replace("\r\n", "")
    assert not after.endswith("\n")
    renamed = _apply(text, {"op": "rename_job", "name": "train", "new_name": "fit"})
    assert renamed == text.replace("  train:", "  fit:").replace("- train", "- fit")


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.glob("*.yaml")))
def test_every_valid_fixture_takes_an_edit_and_keeps_every_other_line(fixture: str) -> None:
    text = (FIXTURES / fixture).read_text()
    spec = load_spec(text).pipeline
    assert spec is not None
    last = list(spec.jobs)[-1]
    after = _apply(text, {"op": "set_field", "job": last, "path": ["description"], "value": "edited"})
    removed, added = _changes(text, after)
    assert removed == [] and added == [added[0]] and "description: edited" in added[0]


def test_anchors_and_merge_keys_survive_an_edit() -> None:
    text = (FIXTURES / "anchors_and_styles.yaml").read_text()
    after = _apply(text, {"op": "rename_job", "name": "build", "new_name": "compile"})
    assert "<<: *common" in after and "&common" in after and "from: compile.log" in after
    after = _apply(text, {"op": "delete_job", "name": "lint"})
    assert after.count("<<: *common") == 1 and load_spec(after).ok


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        ({"op": "rename_job", "name": "nope", "new_name": "x"}, "name", "no job 'nope'"),
        ({"op": "rename_job", "name": "train", "new_name": "report"}, "new_name", "already exists"),
        ({"op": "rename_job", "name": "train", "new_name": "a.b"}, "new_name", "not a valid"),
        ({"op": "add_job", "name": "train"}, "name", "already exists"),
        ({"op": "connect", "from": "prepare.nope", "to": "train.x"}, "from", "no output 'nope'"),
        ({"op": "connect", "from": "prepare", "to": "train.x"}, "from", "not `job.port`"),
        ({"op": "disconnect", "to": "report.data"}, "to", "no input 'data'"),
        (
            {"op": "set_field", "job": "train", "path": ["script", "x"], "value": 1},
            "path[0]",
            "not a mapping",
        ),
        ({"op": "add_input", "job": "train", "name": "x"}, "path", "either `path` or `from`"),
        ({"op": "delete_job", "name": "ghost"}, "name", "no job 'ghost'"),
    ],
)
def test_an_edit_that_cannot_apply_names_its_index_and_field(
    edit: dict[str, Any], field: str, words: str
) -> None:
    ok = {"op": "set_field", "job": "train", "path": ["timeout"], "value": "1m"}
    with pytest.raises(EditError) as caught:
        _apply(SPEC, ok, edit)
    assert (caught.value.index, caught.value.field) == (1, field)
    assert words in str(caught.value)


BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "- a\n- b\n",
        "jobs: [1, 2\n",
        "version: 1\x00\njobs: {}\n",
        "\ufeff\udcff: 1\n",
        "jobs:\n  a: " + "[" * 5000 + "]" * 5000 + "\n",
        BOMB + "jobs:\n  a: {script: x}\n",
        "jobs: 3\n",
        "jobs:\n  a: 5\n",
        "jobs: {a: {script: x}, b: {script: y}}\n",
        "jobs:\n  a: {script: x}\n  a: {script: y}\n",
    ],
)
def test_hostile_documents_give_an_edit_error_never_a_traceback(text: str) -> None:
    for edit in (
        {"op": "delete_job", "name": "a"},
        {"op": "rename_job", "name": "a", "new_name": "b2"},
        {"op": "set_field", "job": "a", "path": ["timeout"], "value": "1m"},
        {"op": "connect", "from": "a.x", "to": "b.y"},
    ):
        try:
            _apply(text, edit)
        except EditError as exc:
            assert exc.index == 0 and str(exc)


MIXED = """\
version: 1
name: mixed
stages:
- a
- b
jobs:
  x:
    stage: a
    script:
      - echo x
    outputs:
      o: {path: o.txt}
  y:
    stage: b
    needs: [x]
    script:
    - echo y
"""


@pytest.mark.parametrize(
    ("edit", "removed", "added"),
    [
        ({"op": "set_field", "job": "x", "path": ["timeout"], "value": "1m"}, [], ["    timeout: 1m\n"]),
        (
            {"op": "connect", "from": "x.o", "to": "y.o"},
            [],
            ["    inputs:\n", "      o: {from: x.o}\n"],
        ),
        ({"op": "set_field", "job": "y", "path": ["needs"], "value": None}, ["    needs: [x]\n"], []),
        (
            {"op": "set_field", "job": "y", "path": ["script"], "value": ["echo a"]},
            ["    script:\n", "    - echo y\n"],
            ["    script: [echo a]\n"],
        ),
    ],
)
def test_a_document_of_mixed_indentation_keeps_it_outside_the_edit(
    edit: dict[str, Any], removed: list[str], added: list[str]
) -> None:
    # No one style of ruamel.yaml writes both `- a` flush and `- echo x` indented: the edit is
    # carried over onto the source instead.
    assert _changes(MIXED, _apply(MIXED, edit)) == (removed, added)


SHARED = """\
version: 1
name: shared
.base: &base
  script: echo base
jobs:
  a: &a {script: echo a}
  b: *a
  c:
    <<: *base
    stage: default
"""


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        ({"op": "set_field", "job": "b", "path": ["timeout"], "value": "1m"}, "job", "anchor &a"),
        ({"op": "set_field", "job": "a", "path": ["timeout"], "value": "1m"}, "job", "anchor &a"),
        ({"op": "set_field", "job": "c", "path": ["script"], "value": None}, "path[0]", "merge key"),
    ],
)
def test_an_edit_of_a_node_shared_through_an_anchor_is_refused(
    edit: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(EditError) as caught:
        _apply(SHARED, edit)
    assert caught.value.field == field and words in str(caught.value)


def test_a_merged_key_can_be_overridden_in_the_job_itself() -> None:
    after = _apply(SHARED, {"op": "set_field", "job": "c", "path": ["script"], "value": "echo c"})
    assert _changes(SHARED, after) == ([], ["    script: echo c\n"])
    assert "  script: echo base\n" in after


def test_a_batch_mixing_text_and_tree_edits_applies_in_order() -> None:
    after = _apply(
        SPEC,
        {"op": "add_job", "name": "evaluate", "stage": "train"},
        {"op": "rename_job", "name": "train", "new_name": "fit"},
        {"op": "add_output", "job": "fit", "name": "model", "path": "model.pkl"},
        {"op": "connect", "from": "fit.model", "to": "evaluate.model"},
        {"op": "delete_job", "name": "report"},
    )
    assert "  fit:\n" in after and "report" not in after
    assert after.endswith(
        "  evaluate:\n    stage: train\n    script: echo evaluate\n    inputs:\n"
        "      model: {from: fit.model, type: file}\n"
    )
    assert load_spec(after).ok


def test_delete_job_keeps_the_comment_that_ends_the_job_above() -> None:
    kept = "version: 1\nname: t\njobs:\n  a:\n    script: echo a\n    # the end of a\n"
    text = kept + "  # b is next\n  b:\n    script: echo b\n"
    after = _apply(text, {"op": "delete_job", "name": "b"})
    assert after == kept
