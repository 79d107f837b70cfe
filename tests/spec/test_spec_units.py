"""Unit tests of the small spec modules: durations, types, expressions, templating, params, schema."""

from __future__ import annotations

from typing import Any

import pytest

from reefline.spec import ParamError, json_schema, load_spec, resolve_params
from reefline.spec.codes import CODES
from reefline.spec.durations import parse_duration
from reefline.spec.expressions import ExpressionError, evaluate, parse_expression, references
from reefline.spec.models import ArtifactType, Pipeline
from reefline.spec.templating import TemplateError, find_references, render, scan
from reefline.spec.types import PREDEFINED, TypeRegistry, is_directory_type

# --- durations ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (90, 90.0),
        (1.5, 1.5),
        ("90", 90.0),
        ("90s", 90.0),
        ("10m", 600.0),
        ("1h30m", 5400.0),
        ("1.5h", 5400.0),
        ("500ms", 0.5),
        ("1d", 86400.0),
        (" 2M ", 120.0),
    ],
)
def test_parse_duration(value: str | int | float, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["10 minutes", "", "m", "1x", "-5", -1, True, "1h-3m", "nan"])
def test_parse_duration_rejects(value: Any) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(value)


# --- types -------------------------------------------------------------------------------------


def test_predefined_types_have_descriptions() -> None:
    for name in [
        "file",
        "directory",
        "text",
        "dataset",
        "dataset/csv",
        "dataset/parquet",
        "dataset/json",
        "model",
        "model/pickle",
        "model/onnx",
        "metrics/json",
        "image",
        "image/png",
    ]:
        assert PREDEFINED[name].description


def test_type_registry_subtypes_and_custom() -> None:
    reg = TypeRegistry(
        {
            "dataset/iris": ArtifactType(extends="dataset/csv"),
            "x": ArtifactType(extends="y"),
            "y": ArtifactType(extends="x"),
            "pics": ArtifactType(extends="directory"),
        }
    )
    assert reg.is_subtype("dataset/iris", "dataset")
    assert reg.is_subtype("dataset/iris", "file")
    assert reg.is_subtype("model/pickle", "model/pickle")
    assert not reg.is_subtype("model/pickle", "dataset/csv")
    assert not reg.is_subtype("directory", "file")
    assert not reg.is_subtype("x", "file")  # cycle: terminates
    assert reg.known("dataset/iris") and not reg.known("nope")
    assert "dataset/iris" in reg.names() and "image/png" in reg.names()
    assert "extends dataset/csv" in reg.describe("dataset/iris")
    assert is_directory_type("directory") and not is_directory_type("file")
    assert is_directory_type("pics", reg)


# --- expressions -------------------------------------------------------------------------------

CTX = {
    "params": {"lr": 0.1, "epochs": 3, "mode": "fast", "on": True},
    "variables": {"ENV": "dev"},
    "matrix": {"model": "tree"},
}


@pytest.mark.parametrize(
    ("src", "value"),
    [
        ("params.epochs > 1", True),
        ("params.epochs > 1 and params.mode == 'fast'", True),
        ("params.epochs > 5 || params.lr < 1", True),
        ("not params.on", False),
        ("!params.on && true", False),
        ("matrix.model in ['tree', 'svm']", True),
        ('matrix.model not in ["tree"]', False),
        ("(params.epochs >= 3) == true", True),
        ("variables.ENV != 'prod'", True),
        ("${{ params.lr <= 0.1 }}", True),
        ("null == null", True),
        ("'a' < 'b'", True),
        ("'ee' in 'tree'", True),
        ("1.5 > 1", True),
        ("[]", []),
    ],
)
def test_evaluate(src: str, value: Any) -> None:
    assert evaluate(parse_expression(src), CTX) == value


@pytest.mark.parametrize(
    ("src", "offset", "message"),
    [
        ("params.x = 1", 9, "'=='"),
        ("params.x >", 10, "expected a value"),
        ("foo.bar == 1", 0, "unknown name 'foo'"),
        ("params.x == 'abc", 12, "unterminated string"),
        ("(params.x", 9, "expected ')'"),
        ("params.x 1", 9, "unexpected '1'"),
        ("", 0, "empty"),
        ("${{ }}", 3, "empty"),
        ("params", 0, "needs a name"),
        ("params.x & 1", 9, "'&&'"),
        ("params.x == #", 12, "unexpected character"),
    ],
)
def test_parse_errors_have_offsets(src: str, offset: int, message: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_expression(src)
    assert info.value.offset == offset
    assert message in info.value.message


def test_evaluate_errors() -> None:
    with pytest.raises(ExpressionError, match=r"unknown reference 'params\.nope'"):
        evaluate(parse_expression("params.nope"), CTX)
    with pytest.raises(ExpressionError, match="cannot compare string < number"):
        evaluate(parse_expression("params.mode < 1"), CTX)
    with pytest.raises(ExpressionError, match="needs a list"):
        evaluate(parse_expression("1 in 2"), CTX)


def test_references() -> None:
    expr = parse_expression("params.a > 1 and (matrix.m in [variables.v, 'x'] or not params.b)")
    assert references(expr) == {("params", "a"), ("matrix", "m"), ("variables", "v"), ("params", "b")}


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(ExpressionError):
        parse_expression("(" * 500 + "1" + ")" * 500)
    with pytest.raises(ExpressionError):
        parse_expression("not " * 500 + "true")


# --- templating --------------------------------------------------------------------------------


def test_find_references() -> None:
    text = "python t.py --lr ${{ params.lr }} --data ${{inputs.data.path}}"
    refs = find_references(text)
    assert [(r.root, r.parts) for r in refs] == [("params", ("lr",)), ("inputs", ("data", "path"))]
    assert text[refs[0].start : refs[0].end] == "${{ params.lr }}" == refs[0].source
    assert refs[1].dotted == "inputs.data.path"


def test_scan_problems() -> None:
    refs, problems = scan("a ${{ params.x + 1 }} b ${{ }} c ${{ params.y")
    assert refs == []
    assert [p.start for p in problems] == [2, 24, 33]
    assert "unterminated" in problems[-1].message
    with pytest.raises(TemplateError, match="not a reference"):
        find_references("${{ 1 + 2 }}")


def test_render() -> None:
    ctx = {"params": {"lr": 0.1, "tags": ["a", "b"], "on": True}, "job": {"name": "train"}}
    assert render("--lr ${{ params.lr }} ${{params.tags}} ${{ params.on }} ${{ job.name }}", ctx) == (
        "--lr 0.1 a b true train"
    )
    assert render("no templates", ctx) == "no templates"
    with pytest.raises(TemplateError, match=r"unknown name 'params\.nope'"):
        render("${{ params.nope }}", ctx)
    with pytest.raises(TemplateError, match="mapping"):
        render("${{ params }}", ctx)


# --- params ------------------------------------------------------------------------------------

PARAMS_SPEC = """
version: 1
name: p
params:
  lr: 0.1
  epochs: 3
  verbose: false
  tags: [a, b]
  sizes: [1, 2]
  mode: {type: str, default: fast, choices: [fast, full]}
  seed: {type: int}
  ratio: {type: float, default: 1}
jobs:
  a: {script: echo}
"""


def _pipeline(text: str = PARAMS_SPEC) -> Pipeline:
    result = load_spec(text)
    assert result.pipeline is not None, [d.format() for d in result.diagnostics]
    return result.pipeline


def test_resolve_params_defaults_and_overrides() -> None:
    values = resolve_params(_pipeline(), {"seed": "7"})
    assert values == {
        "lr": 0.1,
        "epochs": 3,
        "verbose": False,
        "tags": ["a", "b"],
        "sizes": [1, 2],
        "mode": "fast",
        "seed": 7,
        "ratio": 1.0,
    }
    assert isinstance(values["ratio"], float)
    over = resolve_params(
        _pipeline(),
        {
            "seed": "1",
            "lr": "1e-3",
            "verbose": "yes",
            "tags": "x, y",
            "sizes": "3,4",
            "mode": "full",
            "epochs": " 5 ",
        },
    )
    assert over["lr"] == 0.001 and over["verbose"] is True and over["tags"] == ["x", "y"]
    assert over["sizes"] == [3, 4] and over["epochs"] == 5
    assert resolve_params(_pipeline(), {"seed": "1", "tags": '["p", 2]'})["tags"] == ["p", 2]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"seed": "1", "lrr": "1"}, "unknown param 'lrr'; did you mean 'lr'"),
        ({"seed": "x"}, "param 'seed' is an integer, got 'x'"),
        ({"seed": "1", "verbose": "maybe"}, "true or false"),
        ({"seed": "1", "mode": "slow"}, "must be one of 'fast', 'full', got 'slow'"),
        ({}, "param 'seed' has no default; pass -p seed=VALUE"),
        ({"seed": "1", "tags": "[1, "}, "not a JSON list"),
        ({"seed": "1", "lr": "fast"}, "is a number"),
    ],
)
def test_resolve_params_errors(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ParamError) as info:
        resolve_params(_pipeline(), overrides)
    assert message in str(info.value)


# --- schema and codes --------------------------------------------------------------------------


def _walk(node: Any, path: str, missing: list[str]) -> None:
    if isinstance(node, dict):
        for name, prop in (node.get("properties") or {}).items():
            if not isinstance(prop, dict) or not prop.get("description"):
                missing.append(f"{path}.{name}")
        for key, value in node.items():
            _walk(value, f"{path}.{key}", missing)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _walk(item, f"{path}[{i}]", missing)


def test_json_schema_every_property_has_a_description() -> None:
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] and schema["title"] and schema["description"]
    assert {"version", "name", "jobs"} <= set(schema["required"])
    assert "from" in schema["$defs"]["Input"]["properties"]
    assert "if" in schema["$defs"]["Job"]["properties"]
    missing: list[str] = []
    _walk(schema, "$", missing)
    assert missing == []


def test_codes_are_documented() -> None:
    import reefline.spec.codes as codes_module

    for code in CODES:
        assert code in (codes_module.__doc__ or "")
