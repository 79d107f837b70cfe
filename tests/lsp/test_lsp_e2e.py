"""``reefline lsp`` end to end: a real pygls client over stdio, on the iris example and small specs."""

from __future__ import annotations

import time

from lsprotocol import types as lsp

from reefline.spec import load_spec
from tests.lsp.lsp_client import IRIS, LiveServer, apply, position

TEXT = IRIS.read_text(encoding="utf-8")


def _open(server: LiveServer, name: str, text: str = TEXT) -> tuple[str, list[lsp.Diagnostic]]:
    uri = f"file:///work/{name}/reefline.yaml"
    server.do(server.client.open, uri, text)
    return uri, server.call(server.client.wait_diagnostics(uri))


def _change(server: LiveServer, uri: str, text: str) -> list[lsp.Diagnostic]:
    server.do(server.client.set_text, uri, text)
    return list(server.call(server.client.wait_diagnostics(uri)))


def _range(start: tuple[int, int], end: tuple[int, int]) -> lsp.Range:
    return lsp.Range(lsp.Position(*start), lsp.Position(*end))


def _labels(items: list[lsp.CompletionItem]) -> list[str]:
    return [i.label for i in items]


def test_the_iris_example_is_clean_and_a_typo_gets_a_positioned_diagnostic_with_a_fix(
    server: LiveServer,
) -> None:
    uri, diagnostics = _open(server, "typo")
    assert list(diagnostics) == []
    bad = TEXT.replace("stage: featurize", "stage: featurise")
    [diag] = _change(server, uri, bad)
    line, col = position(bad, "featurise")
    assert diag.range == _range((line, col), (line, col + len("featurise")))
    assert diag.code == "RL204"
    assert diag.severity == lsp.DiagnosticSeverity.Error
    assert (
        diag.message == "job 'featurize' uses the unknown stage 'featurise'\nhint: did you mean 'featurize'?"
    )
    [action] = server.call(server.client.code_actions(uri, [diag]))
    assert action.title == "Change to 'featurize'"
    assert apply(bad, list(action.edit.changes[uri])) == TEXT
    assert _change(server, uri, TEXT) == []


def test_a_misspelt_param_inside_a_template_is_fixed_in_place(server: LiveServer) -> None:
    bad = TEXT.replace("--seed ${{ params.seed }} --train", "--seed ${{ params.sed }} --train")
    uri, diagnostics = _open(server, "template-typo", bad)
    [diag] = diagnostics
    assert diag.code == "RL402"
    assert "did you mean 'seed'?" in diag.message
    [action] = server.call(server.client.code_actions(uri, [diag]))
    [edit] = action.edit.changes[uri]
    line, col = position(bad, "params.sed", len("params."))
    assert edit.range == _range((line, col), (line, col + 3))
    assert apply(bad, [edit]) == TEXT


def test_a_duplicate_job_points_at_both_places(server: LiveServer) -> None:
    text = "version: 1\nname: dup\njobs:\n  a:\n    script: echo 1\n  a:\n    script: echo 2\n"
    _, diagnostics = _open(server, "duplicate", text)
    [diag] = diagnostics
    assert diag.code == "RL102"
    assert diag.range == _range((5, 2), (5, 3))
    [related] = diag.related_information
    assert related.location.range == _range((3, 2), (3, 3))
    assert related.message == "first defined here"


def test_a_syntax_error_is_one_diagnostic_and_the_debounce_publishes_once(debounced: LiveServer) -> None:
    uri = "file:///work/debounce/reefline.yaml"
    client = debounced.client
    debounced.do(client.open, uri, TEXT)
    assert list(debounced.call(client.wait_diagnostics(uri))) == []
    line, col = position(TEXT, "needs: []", len("needs: ["))
    for i, ch in enumerate("pre"):  # three quick keystrokes: `needs: [pre]`
        debounced.do(client.replace, uri, (line, col + i), (line, col + i), ch)
    diagnostics = debounced.call(client.wait_diagnostics(uri))
    assert [d.code for d in diagnostics] == ["RL201"]
    assert "job 'evaluate' needs the unknown job 'pre'" in diagnostics[0].message
    time.sleep(0.4)
    assert client.published.empty()  # one analysis for the three changes


def test_completion_offers_jobs_in_needs_outputs_in_from_and_names_in_templates(server: LiveServer) -> None:
    uri, _ = _open(server, "completion")
    line, col = position(TEXT, "needs: []", len("needs: ["))
    assert _labels(server.call(server.client.complete(uri, line, col))) == [
        "prepare",
        "featurize",
        "train",
        "report",
    ]
    line, col = position(TEXT, "from: prepare.train", len("from: "))
    items = server.call(server.client.complete(uri, line, col))
    got = [(i.label, i.detail) for i in items]
    assert got == [
        ("prepare.train", "dataset/iris"),
        ("prepare.test", "dataset/iris"),
        ("train.model", "model/pickle"),
        ("evaluate.metrics", "metrics/json"),
        ("report.report", "text"),
    ]
    line, col = position(TEXT, "${{ params.seed", len("${{ params."))
    items = server.call(server.client.complete(uri, line, col))
    assert _labels(items) == ["params.test_size", "params.seed", "params.max_depth", "params.C"]
    assert items[1].detail == "param: int = 42"
    assert items[1].text_edit.range == _range((line, col - len("params.")), (line, col))
    line, col = position(TEXT, "${{ matrix.model }} --data", len("${{ matrix."))
    assert _labels(server.call(server.client.complete(uri, line, col))) == ["matrix.model"]
    line, col = position(TEXT, "${{ outputs.model.path", len("${{ outputs."))
    assert _labels(server.call(server.client.complete(uri, line, col))) == ["outputs.model"]
    line, col = position(TEXT, "stage: evaluate", len("stage: "))
    assert _labels(server.call(server.client.complete(uri, line, col))) == [
        "prepare",
        "featurize",
        "train",
        "evaluate",
        "report",
    ]
    line, col = position(
        TEXT, "model: {from: train.model, type: model/pickle}", len("model: {from: train.model, type: ")
    )
    labels = _labels(server.call(server.client.complete(uri, line, col)))
    assert {"model/pickle", "dataset/csv", "dataset/iris"} <= set(labels)


def test_key_completion_lists_the_keys_a_job_has_not_set_with_docs(server: LiveServer) -> None:
    text = TEXT.replace("    run: steps.report:main\n", "    run: steps.report:main\n    ti\n")
    uri, _ = _open(server, "keys", text)
    line, col = position(text, "    ti\n", len("    ti"))
    items = server.call(server.client.complete(uri, line, col))
    labels = _labels(items)
    assert "timeout" in labels and "needs" in labels and "retry" in labels
    assert "stage" not in labels and "run" not in labels  # already set
    timeout = next(i for i in items if i.label == "timeout")
    assert timeout.documentation.value == "Kill the job (its whole process tree) after this long."
    assert timeout.text_edit.range == _range((line, 4), (line, 6))
    assert timeout.text_edit.new_text == "timeout: "


def test_completion_keeps_working_in_a_document_that_does_not_parse(server: LiveServer) -> None:
    uri, _ = _open(server, "half-typed")
    text = TEXT.replace("    needs: []  ", "    needs: [pre  ")
    diagnostics = _change(server, uri, text)
    assert [d.code for d in diagnostics] == ["RL101"]
    line, col = position(text, "needs: [pre", len("needs: [pre"))
    items = server.call(server.client.complete(uri, line, col))
    assert _labels(items) == ["prepare", "featurize", "train", "report"]
    assert items[0].text_edit.range == _range((line, col - 3), (line, col))
    line, col = position(text, "${{ params.seed", len("${{ params."))
    assert "params.seed" in _labels(server.call(server.client.complete(uri, line, col)))
    line, col = position(text, "from: prepare.train", 6)
    [target] = server.call(server.client.definition(uri, line, col))
    assert target.range.start.line == position(text, "  prepare:")[0]


def test_hover_shows_a_jobs_summary_an_outputs_type_and_a_keys_docs(server: LiveServer) -> None:
    uri, _ = _open(server, "hover")
    line, col = position(TEXT, "  train:\n", 2)
    hover = server.call(server.client.hover(uri, line, col))
    assert hover.range == _range((line, 2), (line, 7))
    assert hover.contents.value == (
        "**job `train`** · stage `train`\n\nFit one model per matrix entry.\n\n"
        "needs: every job of earlier stages, and `featurize`\n\ninputs:\n"
        "- `code`: file `steps/train.py`\n- `helpers`: file `steps/table.py`\n"
        "- `features`: dataset/csv ← `featurize.train`\n\noutputs:\n"
        "- `model`: model/pickle → `out/models/${{ matrix.model }}.pkl`"
    )
    line, col = position(TEXT, "from: prepare.train", len("from: prepare.t"))
    value = server.call(server.client.hover(uri, line, col)).contents.value
    assert value.startswith("**output `prepare.train`**: dataset/iris")
    assert "dataset/iris: Iris rows with four numeric feature columns" in value
    line, col = position(TEXT, "    retry: {max", 5)
    value = server.call(server.client.hover(uri, line, col)).contents.value
    assert value == "**retry**: a mapping or an integer\n\nRetry policy, or a number of retries."


def test_definition_and_references_of_jobs_outputs_and_params(server: LiveServer) -> None:
    uri, _ = _open(server, "navigation")
    job_key = position(TEXT, "  prepare:\n", 2)
    line, col = position(TEXT, "from: prepare.train", len("from: "))
    [target] = server.call(server.client.definition(uri, line, col))
    assert target.uri == uri
    assert target.range == _range(job_key, (job_key[0], job_key[1] + len("prepare")))
    line, col = position(TEXT, "from: prepare.train", len("from: prepare."))
    [target] = server.call(server.client.definition(uri, line, col))
    output_key = position(TEXT, "train: {path: out/data/train.csv", 0)
    assert target.range == _range(output_key, (output_key[0], output_key[1] + 5))
    refs = server.call(server.client.references(uri, *position(TEXT, "  seed: {type", 2)))
    starts = [(r.range.start.line, r.range.start.character) for r in refs]
    assert starts == [
        position(TEXT, "  seed: {type", 2),
        position(TEXT, "${{ params.seed }}", len("${{ params.")),
        position(TEXT, "${{ params.seed }}", len("${{ params."), nth=1),
    ]
    refs = server.call(server.client.references(uri, *position(TEXT, "  seed: {type", 2), False))
    assert len(refs) == 2


def test_rename_a_job_an_output_and_a_param_updates_every_reference(server: LiveServer) -> None:
    uri, _ = _open(server, "rename")
    edit = server.call(server.client.rename(uri, *position(TEXT, "  prepare:\n", 2), "split"))
    renamed = apply(TEXT, list(edit.changes[uri]))
    assert "  split:\n" in renamed and "from: split.train" in renamed and "from: split.test" in renamed
    assert "stage: prepare" in renamed  # the stage of the same name is another thing
    assert load_spec(renamed).ok
    edit = server.call(
        server.client.rename(uri, *position(TEXT, "from: prepare.train", len("from: prepare.")), "rows")
    )
    renamed = apply(TEXT, list(edit.changes[uri]))
    assert "      rows: {path: out/data/train.csv" in renamed
    assert "from: prepare.rows" in renamed and "${{ outputs.rows.path }}" in renamed
    assert "      train: {from: prepare.rows" in renamed  # featurize's input keeps its own name
    assert load_spec(renamed).ok
    edit = server.call(
        server.client.rename(uri, *position(TEXT, "${{ params.seed", len("${{ params.")), "random_seed")
    )
    renamed = apply(TEXT, list(edit.changes[uri]))
    assert renamed.count("params.random_seed") == 2 and "  random_seed: {type: int" in renamed
    assert load_spec(renamed).ok
    assert server.call(server.client.rename(uri, *position(TEXT, "  seed: {type", 2), "C")) is None  # taken


def test_the_outline_groups_jobs_by_stage(server: LiveServer) -> None:
    uri, _ = _open(server, "symbols")
    symbols = server.call(server.client.symbols(uri))
    outline = [(s.name, [c.name for c in s.children or []]) for s in symbols]
    assert outline == [
        ("params", ["test_size", "seed", "max_depth", "C"]),
        ("types", ["dataset/iris"]),
        ("prepare", ["prepare"]),
        ("featurize", ["featurize"]),
        ("train", ["train"]),
        ("evaluate", ["evaluate"]),
        ("report", ["report"]),
    ]
    train = symbols[4].children[0]
    assert train.kind == lsp.SymbolKind.Function
    assert train.selection_range == _range(position(TEXT, "  train:\n", 2), position(TEXT, "  train:\n", 7))
    assert [c.name for c in train.children] == ["code", "helpers", "features", "model"]


def test_a_template_in_a_flow_list_gets_the_block_form_and_quoting_as_fixes(server: LiveServer) -> None:
    text = "version: 1\nname: q\nparams: {seed: 1}\njobs:\n  a:\n    script: [echo ${{ params.seed }}, ls]\n"
    uri, diagnostics = _open(server, "flow", text)
    [diag] = diagnostics
    assert diag.code == "RL101"
    block, quoted = server.call(server.client.code_actions(uri, [diag]))
    assert block.title == "Write the list in block form"
    assert apply(text, list(block.edit.changes[uri])).endswith(
        "    script:\n      - echo ${{ params.seed }}\n      - ls\n"
    )
    fixed = apply(text, list(quoted.edit.changes[uri]))
    assert fixed.endswith('    script: ["echo ${{ params.seed }}", ls]\n')
    assert _change(server, uri, fixed) == []


def test_an_unknown_key_is_fixed_by_its_did_you_mean(server: LiveServer) -> None:
    text = "version: 1\nname: q\njobs:\n  a:\n    script: echo\n    stag: default\n"
    uri, diagnostics = _open(server, "unknown-key", text)
    [diag] = diagnostics
    assert (diag.code, diag.range) == ("RL103", _range((5, 4), (5, 8)))
    [action] = server.call(server.client.code_actions(uri, [diag]))
    assert apply(text, list(action.edit.changes[uri])).endswith("    stage: default\n")


def test_a_shape_error_keeps_references_resolvable(server: LiveServer) -> None:
    text = TEXT.replace("    retry: {max: 1, delay: 1s}", "    retry: {max: many, delay: 1s}")
    uri, diagnostics = _open(server, "shape", text)
    assert [d.code for d in diagnostics] == ["RL104"]
    [target] = server.call(server.client.definition(uri, *position(text, "from: train.model", len("from: "))))
    assert target.range.start == lsp.Position(*position(text, "  train:\n", 2))


def test_a_second_writer_of_an_output_path_points_at_the_first(server: LiveServer) -> None:
    text = (
        "version: 1\nname: w\njobs:\n  a:\n    script: echo\n    outputs:\n      x: {path: out/x.txt}\n"
        "  b:\n    script: echo\n    outputs:\n      y: {path: out/x.txt}\n"
    )
    _, diagnostics = _open(server, "writers", text)
    [diag] = [d for d in diagnostics if d.code == "RL207"]
    assert diag.range == _range((10, 16), (10, 25))
    [related] = diag.related_information
    assert related.location.range == _range((6, 16), (6, 25))
    assert related.message == "job 'a' writes it here (output 'x')"


def test_stages_and_types_have_definitions_references_and_hovers(server: LiveServer) -> None:
    uri, _ = _open(server, "stages-types")
    stage_def = position(TEXT, "stages: [prepare, featurize", len("stages: [prepare, "))
    [target] = server.call(server.client.definition(uri, *position(TEXT, "stage: featurize", len("stage: "))))
    assert target.range == _range(stage_def, (stage_def[0], stage_def[1] + len("featurize")))
    refs = server.call(server.client.references(uri, *stage_def, False))
    assert [r.range.start for r in refs] == [
        lsp.Position(*position(TEXT, "stage: featurize", len("stage: ")))
    ]
    [target] = server.call(
        server.client.definition(uri, *position(TEXT, "type: dataset/iris}", len("type: ")))
    )
    assert target.range.start == lsp.Position(*position(TEXT, "  dataset/iris:\n", 2))
    hover = server.call(server.client.hover(uri, *position(TEXT, "type: model/pickle}", len("type: "))))
    assert (
        hover.contents.value
        == "**type** model/pickle: A model serialized with Python pickle (or joblib). (extends model)"
    )
    text = TEXT.replace("    run: steps.report:main\n", "    run: steps.report:main\n    when: \n")
    _change(server, uri, text)
    line, col = position(text, "    when: \n", len("    when: "))
    assert _labels(server.call(server.client.complete(uri, line, col))) == [
        "on_success",
        "on_failure",
        "always",
        "manual",
    ]


def test_a_stage_listed_twice_points_at_the_first(server: LiveServer) -> None:
    text = "version: 1\nname: s\nstages: [a, b, a]\njobs:\n  j:\n    stage: a\n    script: echo\n"
    _, diagnostics = _open(server, "stages-twice", text)
    [diag] = diagnostics
    assert (diag.code, diag.range) == ("RL206", _range((2, 15), (2, 16)))
    [related] = diag.related_information
    assert (related.location.range, related.message) == (_range((2, 9), (2, 10)), "first listed here")


def test_columns_are_utf16_units_on_a_line_with_an_emoji(server: LiveServer) -> None:
    line = '  j: {description: "🚀🚀", stage: prap, script: echo}'
    text = f"version: 1\nname: e\nstages: [prep]\njobs:\n{line}\n"
    col = len(line[: line.index("prap")].encode("utf-16-le")) // 2
    assert col == line.index("prap") + 2  # each rocket is two UTF-16 units
    uri, diagnostics = _open(server, "emoji", text)
    [diag] = diagnostics
    assert (diag.code, diag.range) == ("RL204", _range((4, col), (4, col + 4)))
    [action] = server.call(server.client.code_actions(uri, [diag]))
    [edit] = action.edit.changes[uri]
    assert (edit.range, edit.new_text) == (_range((4, col), (4, col + 4)), "prep")
    items = server.call(server.client.complete(uri, 4, col + 2))
    assert [i.label for i in items] == ["prep"]
    assert items[0].text_edit.range == _range((4, col), (4, col + 2))
    fixed = text.replace("prap", "prep")
    assert _change(server, uri, fixed) == []
    [target] = server.call(server.client.definition(uri, 4, col + 1))
    assert target.range == _range((2, 9), (2, 13))
