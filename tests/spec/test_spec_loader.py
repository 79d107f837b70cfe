"""The loader and the YAML source map: positions, messages, and never raising."""

from __future__ import annotations

from pathlib import Path

from reefline.spec import LoadResult, Severity, load_spec, load_spec_file
from reefline.spec.yaml_source import load_yaml

HEAD = "version: 1\nname: t\n"


def formats(result: LoadResult) -> list[str]:
    return [d.format() for d in result.diagnostics]


def test_source_map_spans_values_and_keys() -> None:
    text = HEAD + "jobs:\n  train:\n    needs: [a, bb]\n    script: echo hi\n"
    parsed = load_yaml(text)
    assert parsed.data["jobs"]["train"]["needs"] == ["a", "bb"]
    span = parsed.source.values[("jobs", "train", "needs", 1)]
    assert (span.line, span.col, span.end_line, span.end_col) == (5, 16, 5, 18)
    key = parsed.source.keys[("jobs", "train", "script")]
    assert (key.line, key.col) == (6, 5)
    assert parsed.source.nearest(("jobs", "train", "nope", 3))[0] == ("jobs", "train")


def test_scalar_positions_inside_quoted_and_block_scalars() -> None:
    text = "a: 'it''s ${{ x }}'\nb: \"\\t${{ y }}\"\nc: |\n  one\n    two ${{ z }}\n"
    src = load_yaml(text).source
    assert src.scalar_position(("a",), 5).col == 11  # after the doubled quote
    assert src.scalar_position(("b",), 1).col == 7  # after the escape
    pos = src.scalar_position(("c",), len("one\n  two "))
    assert (pos.line, pos.col) == (5, 9)


def test_yaml_values_keep_plain_types() -> None:
    data = load_yaml("a: 2024-01-01\nb: yes\nc: 1.5\nd: ~\ne: !!str 3\n").data
    assert data == {"a": "2024-01-01", "b": True, "c": 1.5, "d": None, "e": "3"}


def test_merge_keys_and_aliases() -> None:
    text = ".t: &t {stage: s, script: echo}\nx: {<<: *t, stage: mine}\ny: *t\n"
    data = load_yaml(text).data
    assert data["x"] == {"stage": "mine", "script": "echo"}
    assert data["y"] == {"stage": "s", "script": "echo"}


def test_recursive_alias_and_billion_laughs_are_diagnostics() -> None:
    assert load_yaml("a: &a [*a]\n").diagnostics[0].code == "RL108"
    lol = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 9):
        lol += f"a{i}: &a{i} [*a{i - 1 if i > 1 else ''}" + f", *a{i - 1 if i > 1 else ''}" * 9 + "]\n"
    lol = lol.replace("*a0", "*a")
    result = load_spec(lol)
    assert result.pipeline is None
    assert any(d.code == "RL108" for d in result.diagnostics)


def test_unknown_tag_and_control_character() -> None:
    assert load_yaml("a: !custom x\n").diagnostics[0].code == "RL104"
    result = load_spec("version: 1\n\x07")
    assert [d.code for d in result.diagnostics] == ["RL101"]
    assert (result.diagnostics[0].line, result.diagnostics[0].col) == (2, 1)


def test_several_documents_is_a_syntax_error() -> None:
    result = load_spec(HEAD + "jobs: {}\n---\nx: 1\n")
    assert result.diagnostics[0].code == "RL101"


def test_valid_spec_loads() -> None:
    result = load_spec(HEAD + "jobs:\n  a:\n    script: echo hi\n")
    assert result.ok and result.pipeline is not None
    assert result.pipeline.jobs["a"].script_lines() == ["echo hi"]
    assert result.source.values and result.text.startswith("version")


def test_union_errors_collapse_to_one_message() -> None:
    result = load_spec(HEAD + "jobs:\n  a:\n    script: {x: 1}\n    retry: often\n    timeout: [1]\n")
    assert formats(result) == [
        "reefline.yaml:5:13: error: wrong type for 'script' in job 'a': expected a string or a list of "
        "strings, got a mapping [RL104]",
        "reefline.yaml:6:12: error: wrong type for retry of job 'a': expected a mapping or an integer, "
        "got a string [RL104]",
        "reefline.yaml:7:14: error: wrong type for 'timeout' in job 'a': expected a string or a number, "
        "got a list [RL104]",
    ]


def test_param_list_item_errors() -> None:
    result = load_spec(HEAD + "params:\n  x: [1, {a: b}]\njobs:\n  a: {script: echo}\n")
    assert formats(result) == [
        "reefline.yaml:4:10: error: wrong type for item 2 of param 'x': expected a string, a number or "
        "true or false, got a mapping [RL104]"
    ]


def test_null_job_and_missing_jobs() -> None:
    result = load_spec(HEAD + "jobs:\n  a:\n")
    assert [d.code for d in result.diagnostics] == ["RL104"]
    assert "got nothing (null)" in result.diagnostics[0].message


def test_warnings_do_not_make_a_spec_invalid() -> None:
    text = HEAD + "params: {p: 1}\n" + "jobs:\n  a: {script: echo, params: [p]}\n"
    result = load_spec(text)
    assert [d.severity for d in result.diagnostics] == [Severity.WARNING]
    assert result.ok


def test_load_spec_file(tmp_path: Path) -> None:
    path = tmp_path / "reefline.yaml"
    path.write_text(HEAD + "jobs:\n  a: {script: echo}\n", encoding="utf-8")
    assert load_spec_file(path).ok
    missing = load_spec_file(tmp_path / "nope.yaml")
    assert missing.pipeline is None and missing.diagnostics[0].code == "RL101"


def test_diagnostics_are_sorted_by_position() -> None:
    result = load_spec(HEAD + "jobs:\n  b:\n    needs: [zz]\n  a:\n    needs: [yy]\n")
    keys = [(d.line, d.col) for d in result.diagnostics]
    assert keys == sorted(keys) and len(keys) == 4


def test_scalars_in_script_are_shell_words() -> None:
    result = load_spec(HEAD + "jobs:\n  a:\n    script: [true, 42, 'echo x']\n")
    assert result.ok and result.pipeline is not None
    assert result.pipeline.jobs["a"].script_lines() == ["true", "42", "echo x"]


def test_an_unknown_key_does_not_hide_the_other_problems() -> None:
    text = HEAD + (
        "jobs:\n"
        "  a:\n"
        "    needs: [b]\n"
        "    script: [x]\n"
        "    retry: {max: 2, dealy: 1s}\n"
        "  b:\n"
        "    needs: [a]\n"
        "    script: [x]\n"
        "    timeout: 10 minutes\n"
    )
    codes = [d.code for d in load_spec(text).diagnostics]
    assert codes == ["RL203", "RL103", "RL502"]
