"""Property: ``load_spec`` never raises, positions are 1-based, and a rejected spec says why."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reefline.spec import LoadResult, Severity, load_spec

VALID = [
    p.read_text(encoding="utf-8")
    for p in sorted((Path(__file__).parent.parent / "fixtures" / "specs" / "valid").glob("*.yaml"))
]
SETTINGS = settings(
    max_examples=int(os.environ.get("REEFLINE_PROPERTY_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def check(text: str) -> LoadResult:
    result = load_spec(text)
    for d in result.diagnostics:
        assert d.line >= 1 and d.col >= 1, d.format()
        assert d.code != "RL100", d.format()  # an internal error is a bug, not a user error
        d.format()
        d.to_json()
    errors = [d for d in result.diagnostics if d.severity is Severity.ERROR]
    if result.pipeline is None:
        assert errors, f"rejected without an error: {text!r}"
    return result


YAML_ALPHABET = st.sampled_from([*"abc: -[]{},'\"\n  #&*!|>$.0123\t?%@`", "${{", "}}", "jobs", "needs"])
yaml_ish = st.lists(YAML_ALPHABET, max_size=80).map("".join)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=False, width=16),
    st.sampled_from(["a", "b", "x.y", "${{ params.a }}", "1h", "..", "/abs", "a:b"]),
)
keys = st.sampled_from(
    [
        "version",
        "name",
        "jobs",
        "a",
        "b",
        "needs",
        "script",
        "run",
        "inputs",
        "outputs",
        "from",
        "path",
        "type",
        "matrix",
        "if",
        "stage",
        "stages",
        "params",
        "types",
        "extends",
        "timeout",
        "retry",
        "max",
        "delay",
        "image",
        "metrics",
        "when",
        "default",
        "choices",
    ]
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=25,
)


def dump(value: object) -> str:
    import yaml

    return yaml.safe_dump(value, default_flow_style=False, sort_keys=False)


@SETTINGS
@given(st.text(max_size=200))
def test_random_text(text: str) -> None:
    check(text)


@SETTINGS
@given(yaml_ish)
def test_yaml_ish_text(text: str) -> None:
    check(text)


@SETTINGS
@given(st.dictionaries(keys, values, max_size=8), st.booleans())
def test_random_documents(doc: dict[str, object], with_header: bool) -> None:
    if with_header:
        doc = {"version": 1, "name": "x", **doc}
    check(dump(doc))


@st.composite
def mutated(draw: st.DrawFn) -> str:
    lines = draw(st.sampled_from(VALID)).splitlines()
    for _ in range(draw(st.integers(1, 3))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "indent", "dedent", "insert"]))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "indent":
            lines[i] = "  " + lines[i]
        elif op == "dedent":
            lines[i] = lines[i][2:]
        else:
            pos = draw(st.integers(0, len(lines[i])))
            lines[i] = (
                lines[i][:pos]
                + "".join(draw(st.lists(YAML_ALPHABET, min_size=1, max_size=3)))
                + lines[i][pos:]
            )
    return "\n".join(lines) + "\n"


@SETTINGS
@given(mutated())
def test_mutated_valid_specs(text: str) -> None:
    check(text)
