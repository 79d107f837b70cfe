"""Metrics files: bounded parsing, and every surprise reported instead of silently dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from reefline.engine.metrics import MetricsError, nesting_depth, parse_metrics, read_metrics


def test_nested_numbers_are_flattened() -> None:
    parsed = parse_metrics('{"test": {"accuracy": 0.9, "n": 30}, "loss": 1e-3}', "m.json")
    assert parsed.values == {"test.accuracy": 0.9, "test.n": 30.0, "loss": 0.001}
    assert parsed.warnings == []


def test_deep_nesting_is_refused_before_parsing() -> None:
    deep = "[" * 3000 + "]" * 3000
    with pytest.raises(MetricsError, match="nested 3000 levels deep; the limit is 64"):
        parse_metrics(deep, "m.json")


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    assert nesting_depth('{"a": "[[[[{{{{\\"]]]"}') == 1


def test_a_big_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text('{"a": 1}' + " " * 2000)
    with pytest.raises(MetricsError, match=r"m\.json is 2008 bytes; the limit is 1000"):
        read_metrics(path, "m.json", max_bytes=1000)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "must hold a JSON object, not a list"),
        ("3", "must hold a JSON object, not a number"),
        ('{"a.b": 1, "a": {"b": 2}}', r'\["a", "b"\] and \["a.b"\] both flatten to the key \'a.b\''),
        ('{"a": 1, "a": 2}', "key 'a' appears twice"),
        ("{nope", "is not valid JSON"),
    ],
)
def test_unusable_files_are_errors(text: str, message: str) -> None:
    with pytest.raises(MetricsError, match=message):
        parse_metrics(text, "m.json")


def test_nan_infinity_and_non_numbers_are_warnings_not_silence() -> None:
    parsed = parse_metrics(
        '{"ok": 1, "bad": NaN, "worse": -Infinity, "name": "tree", "big": 1e999}', "m.json"
    )
    assert parsed.values == {"ok": 1.0}
    joined = "\n".join(parsed.warnings)
    assert "'bad' is NaN; not recorded" in joined
    assert "'worse' is -Infinity; not recorded" in joined
    assert "'big' is too large; not recorded" in joined
    assert "not numbers, not recorded: 'name'" in joined
