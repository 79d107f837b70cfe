"""The validator never lets a bad spec through: types in ``if:``, matrix collisions and size,
rendered output paths, finite params, escaped control characters, all findings at once."""

from __future__ import annotations

import random
import time
from typing import Any

import pytest

from reefline.spec import ParamError, expanded_job_count, load_spec, resolve_params
from reefline.spec.codes import CODES
from reefline.spec.diagnostics import Diagnostic
from reefline.spec.expressions import ExpressionError, evaluate, parse_expression

HEAD = "version: 1\nname: t\n"


def codes(text: str) -> list[str]:
    return [d.code for d in load_spec(HEAD + text).diagnostics]


def only(text: str, code: str) -> Diagnostic:
    found = [d for d in load_spec(HEAD + text).diagnostics if d.code == code]
    assert len(found) == 1, [d.format() for d in load_spec(HEAD + text).diagnostics]
    return found[0]


# --- item 2: if: is type-checked against param types; matrix values and variables are text ------


@pytest.mark.parametrize(
    ("params", "condition", "column"),
    [
        ("{s: {type: str, default: x}}", "1 < params.s", 11),
        ("{s: {type: str, default: x}}", "params.s >= 2", 18),
        ("{f: true}", "params.f > false", 18),
        ("{n: 3}", "params.n == 'three'", 18),
        ("{n: 3}", "params.n in 'abc'", 18),
        ("{n: 3}", "params.n in ['1', '2']", 18),
        ("{l: {type: list, default: [a]}}", "params.l < 2", 18),
        ("{}", "variables.V > 1", 21),
    ],
)
def test_if_type_errors_are_located(params: str, condition: str, column: int) -> None:
    text = f"params: {params}\nvariables: {{V: x}}\njobs:\n  a:\n    script: echo\n    if: {condition}\n"
    d = only(text, "RL404")
    assert (d.line, d.col) == (8, column)
    assert d.hint


def test_matrix_values_are_text_in_if() -> None:
    text = "jobs:\n  a:\n    matrix: {n: [1, 2]}\n    script: echo\n    if: matrix.n == 1\n"
    d = only(text, "RL404")
    assert "always false" in d.message and "matrix.n == '1'" in (d.hint or "")
    assert codes(text.replace("matrix.n == 1", "matrix.n == '1'")) == []


@pytest.mark.parametrize(
    "condition",
    [
        "params.n > 1 and params.s == 'x'",
        "params.s in ['a', 'b'] or not params.f",
        "params.n in [1, 2] and params.l == null",
        "variables.V != 'dev' || params.n >= 1.5",
        "params.s in 'abc' and 'a' in params.l",
    ],
)
def test_well_typed_conditions_pass(condition: str) -> None:
    text = (
        "params: {n: 3, s: x, f: true, l: {type: list, default: [a]}}\nvariables: {V: dev}\n"
        f"jobs:\n  a:\n    script: echo\n    if: {condition}\n"
    )
    assert codes(text) == []


def test_a_type_error_in_if_does_not_reach_the_planner() -> None:
    result = load_spec(HEAD + "params: {s: x}\njobs:\n  a:\n    script: echo\n    if: 1 < params.s\n")
    assert not result.ok


_ATOMS = ["1", "2.5", "'a'", "true", "null", "[1, 'a']", "params.n", "params.s", "params.l", "matrix.m"]
_OPS = ["==", "!=", "<", "<=", ">", ">=", "in", "not in", "and", "or"]


def _random_expression(rng: random.Random, depth: int = 0) -> str:
    if depth > 3 or rng.random() < 0.3:
        return rng.choice(_ATOMS)
    if rng.random() < 0.15:
        return f"(not ({_random_expression(rng, depth + 1)}))"
    left, right = _random_expression(rng, depth + 1), _random_expression(rng, depth + 1)
    return f"({left} {rng.choice(_OPS)} {right})"


def test_the_evaluator_raises_only_expression_errors_and_the_checker_predicts_them() -> None:
    """Random expressions over random values: evaluation either works or raises ExpressionError;
    an expression the linter accepts never fails at run time."""
    rng = random.Random(10)
    context: dict[str, Any] = {
        "params": {"n": 3, "s": "x", "l": ["a"]},
        "variables": {},
        "matrix": {"m": "1"},
    }
    head = HEAD + "params: {n: 3, s: x, l: {type: list, default: [a]}}\njobs:\n  a:\n"
    for _ in range(400):
        source = _random_expression(rng)
        expr = parse_expression(source)
        try:
            evaluate(expr, context)
        except ExpressionError:
            failed = True
        else:
            failed = False
        spec = load_spec(head + f"    matrix: {{m: ['1']}}\n    script: echo\n    if: \"{source}\"\n")
        if spec.ok:
            assert not failed, source


def test_deep_or_long_expressions_are_diagnostics() -> None:
    for condition in ("true and " * 3000 + "true", "not " * 400 + "true", "1" * 3000 + " < 2"):
        d = only(f"jobs:\n  a:\n    script: echo\n    if: {condition}\n", "RL401")
        assert d.line == 6


# --- items 4 and 5: matrix collisions and size -----------------------------------------------------


def test_matrix_values_that_name_one_job_are_errors_at_the_value() -> None:
    text = 'jobs:\n  a:\n    matrix:\n      x: [1, "1", 1.0, true, 2]\n    script: echo\n'
    found = [d for d in load_spec(HEAD + text).diagnostics if d.code == "RL511"]
    assert [(d.line, d.col) for d in found] == [(6, 14), (6, 19), (6, 24)]
    assert "item 1" in found[0].message


def test_non_finite_matrix_values_are_errors() -> None:
    assert codes("jobs:\n  a:\n    matrix: {x: [.nan, .inf]}\n    script: echo\n") == ["RL106", "RL106"]


def test_a_million_job_matrix_is_rejected_quickly_at_the_matrix() -> None:
    axes = "\n".join(f"      k{i}: [{', '.join(str(v) for v in range(10))}]" for i in range(6))
    text = f"jobs:\n  sweep:\n    matrix:\n{axes}\n    script: echo\n"
    start = time.perf_counter()
    result = load_spec(HEAD + text)
    elapsed = time.perf_counter() - start
    d = next(d for d in result.diagnostics if d.code == "RL510")
    assert (d.line, d.col) == (5, 5) and "1,000,000" in d.message
    assert elapsed < 30  # a hang guard; bench figures are well under a second
    assert result.pipeline is not None and expanded_job_count(result.pipeline) == 1_000_000


def test_the_job_limit_counts_the_whole_pipeline_and_follows_the_env(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (
        "jobs:\n  a:\n    matrix: {x: [1, 2, 3]}\n    script: echo\n"
        "  b:\n    matrix: {y: [1, 2]}\n    script: echo\n"
    )
    result = load_spec(HEAD + text)
    assert result.ok and result.pipeline is not None and expanded_job_count(result.pipeline) == 5
    monkeypatch.setenv("REEFLINE_MAX_JOBS", "4")
    d = only(text, "RL510")
    assert d.line == 8 and "job 'b'" in d.message
    monkeypatch.setenv("REEFLINE_MAX_JOBS", "lots")
    assert "REEFLINE_MAX_JOBS" in only(text, "RL510").message


# --- item 6: rendered output paths -----------------------------------------------------------------


def test_expansions_writing_one_path_are_an_error_at_the_path() -> None:
    text = (
        "jobs:\n  a:\n    matrix: {m: [x, y], seed: [1, 2]}\n    script: echo\n"
        "    outputs:\n      o: {path: 'out/${{ matrix.m }}.txt'}\n"
    )
    d = only(text, "RL207")
    assert (d.line, d.col) == (8, 17) and "seed" in d.message and d.severity == "error"


def test_two_jobs_writing_one_rendered_path_name_the_first() -> None:
    text = (
        "jobs:\n  a:\n    matrix: {m: [x, y]}\n    script: echo\n"
        "    outputs:\n      o: {path: 'out/${{ matrix.m }}'}\n"
        "  b:\n    script: echo\n    outputs:\n      p: {path: out/y}\n"
    )
    d = only(text, "RL207")
    assert d.line == 12 and "a[m=y]" in d.message


def test_an_empty_axis_writes_nothing() -> None:
    text = "jobs:\n  a:\n    matrix: {m: []}\n    script: x\n    outputs: {o: {path: 'o/${{ matrix.m }}'}}\n"
    assert codes(text) == ["RL508"]


def test_job_name_in_a_path_keeps_expansions_apart() -> None:
    text = (
        "jobs:\n  a:\n    matrix: {m: [x, y]}\n    script: echo\n"
        "    outputs:\n      o: {path: 'out/${{ job.name }}'}\n"
    )
    assert codes(text) == []


@pytest.mark.parametrize(
    ("values", "ok"),
    [("[a, ../../etc/x]", False), ("[a, ../b]", True), ("[a, '..']", True), ("['x/../../../y']", False)],
)
def test_matrix_values_cannot_move_a_path_out_of_the_workspace(values: str, ok: bool) -> None:
    text = (
        f"jobs:\n  a:\n    matrix: {{d: {values}}}\n    script: echo\n"
        "    outputs:\n      o: {path: 'out/${{ matrix.d }}.txt'}\n"
    )
    found = [d for d in load_spec(HEAD + text).diagnostics if d.code == "RL506"]
    if ok:
        assert found == []
    else:
        assert [(d.line, d.col) for d in found] == [(8, 22)]


def test_param_defaults_cannot_move_a_path_out_of_the_workspace() -> None:
    text = (
        "params: {d: ../..}\njobs:\n  a:\n    script: echo\n"
        "    outputs:\n      o: {path: 'out/${{ params.d }}/x'}\n"
    )
    d = only(text, "RL506")
    assert (d.line, d.col) == (8, 22) and "defaults" in d.message


# --- item 7: parameters are finite numbers ---------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN", "1e999"])
def test_non_finite_param_overrides_are_refused(value: str) -> None:
    result = load_spec(
        HEAD + "params: {f: 0.5, l: {type: list, default: [0.5]}}\njobs:\n  a: {script: echo}\n"
    )
    assert result.pipeline is not None
    with pytest.raises(ParamError, match="not a finite number"):
        resolve_params(result.pipeline, {"f": value})
    with pytest.raises(ParamError, match=r"not a finite number|not finite"):
        resolve_params(result.pipeline, {"l": f"0.1,{value}"})
    with pytest.raises(ParamError, match="not finite"):
        resolve_params(result.pipeline, {"l": "[1, NaN]"})


@pytest.mark.parametrize(
    "default", [".nan", ".inf", "-.inf", "1.0e+999", "{type: float, default: .nan}", "[1, .nan]"]
)
def test_non_finite_param_defaults_are_errors(default: str) -> None:
    d = only(f"params:\n  f: {default}\njobs:\n  a: {{script: echo}}\n", "RL507")
    assert d.line == 4 and "not a finite number" in d.message


# --- item 8: control characters in diagnostics -----------------------------------------------------


def test_control_characters_are_escaped_in_diagnostics() -> None:
    result = load_spec(HEAD + 'jobs:\n  a:\n    script: echo\n    needs: ["\\e[31mx\\0\\x9b\\u202e"]\n')
    (d,) = [d for d in result.diagnostics if d.code == "RL201"]  # the NUL is also an RL106 of its own
    shown = d.format()
    assert "\\x1b[31mx\\x00\\x9b\\u202e" in shown
    assert not any(ch in shown for ch in "\x1b\x00\x9b\u202e")
    assert "\x1b" in d.to_json()["message"]  # JSON carries the text; json.dumps escapes it


def test_an_unknown_param_name_is_shown_escaped() -> None:
    result = load_spec(HEAD + "params: {f: 0.5}\njobs:\n  a: {script: echo}\n")
    assert result.pipeline is not None
    with pytest.raises(ParamError) as info:
        resolve_params(result.pipeline, {"\x1b[2Jf": "1"})
    assert "\x1b" not in str(info.value) and "\\x1b[2Jf" in str(info.value)


# --- item 9: job names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "why"), [("a.b", "from: job.output"), ("-a", "start with '-'"), ("a[b]", "matrix")]
)
def test_invalid_job_names_say_why(name: str, why: str) -> None:
    d = only(f"jobs:\n  '{name}': {{script: echo}}\n", "RL208")
    assert why in d.message


# --- item 3: a wrong type hides nothing else -------------------------------------------------------


def test_a_wrong_type_does_not_hide_other_problems() -> None:
    text = (
        "jobs:\n  a:\n    script: {x: 1}\n    needs: [nope]\n"
        "  b:\n    stage: later\n    script: echo ${{ params.missing }}\n    timeout: [1]\n"
    )
    assert codes(text) == ["RL104", "RL201", "RL204", "RL402", "RL104"]


def test_a_repaired_value_invents_nothing() -> None:
    # Without `script` job a reads as "neither script nor run"; without `outputs`, b's `from:` as
    # unknown; without the param, the template as undefined. None of these may appear.
    text = (
        "params:\n  p: {type: int, default: [1]}\n  q: {type: flot}\n"
        "jobs:\n  a:\n    script: {x: 1}\n    outputs: 5\n"
        "  b:\n    script: echo ${{ params.q }}\n    inputs:\n      i: {from: a.o}\n"
    )
    assert codes(text) == ["RL507", "RL106", "RL104", "RL104"]


@pytest.mark.parametrize(
    "job",
    [
        "{run: [x], params: []}",  # without `run` it would read as a script job with params (RL509)
        "{script: echo, inputs: {i: {from: [a.b]}}}",  # without `from` as an input with no source
        "{script: echo, outputs: {o: {path: [x]}}}",
    ],
)
def test_repairs_inside_a_job_invent_nothing(job: str) -> None:
    assert codes(f"jobs:\n  a: {job}\n") == ["RL104"]


def test_every_code_is_documented() -> None:
    for code in ("RL404", "RL510", "RL511"):
        assert code in CODES
