"""What ``validate`` accepts, the planner can plan: random matrices, paths and conditions.

With the params' defaults, a spec the linter passes must compile without a PlanError, and a spec
whose plan would fail (two writers of one path, a path out of the workspace, an ``if:`` that cannot
be evaluated) must already fail validation, at a position.
"""

from __future__ import annotations

import random

from reefline.plan.compiler import PlanError, compile_plan
from reefline.spec import load_spec, resolve_params
from reefline.spec.expressions import ExpressionError

VALUES = ["a", "b", "../x", "../../y", "1", 1, 2, 1.0, True, "a/b", "", "./a"]
PATHS = [
    "out/${{ matrix.k }}.txt",
    "out/${{ matrix.k }}/${{ matrix.j }}",
    "out/${{ job.name }}",
    "out/fixed.txt",
    "${{ matrix.k }}",
    "out/${{ params.p }}-${{ matrix.j }}",
    "out/${{ variables.V }}/${{ matrix.k }}${{ matrix.j }}",
]
CONDITIONS = [
    "matrix.k == 'a'",
    "params.p > 1",
    "params.p == 'x'",
    "matrix.j != 1",
    "params.n < params.p",
    "",
]


def _quoted(value: object) -> str:
    if isinstance(value, str):
        return "'" + value + "'"
    return "true" if value is True else str(value)


def _random_spec(rng: random.Random) -> str:
    lines = ["version: 1", "name: t", "params: {p: " + rng.choice(["2", "x", "../up"]) + ", n: 1}"]
    lines += ["variables: {V: " + rng.choice(["v", "..", "a/b"]) + "}", "jobs:"]
    for name in ("one", "two")[: rng.randint(1, 2)]:
        k = sorted({_quoted(v) for v in rng.sample(VALUES, rng.randint(1, 3))})
        j = sorted({_quoted(v) for v in rng.sample(VALUES, rng.randint(1, 2))})
        lines += [
            f"  {name}:",
            "    script: echo",
            f"    matrix: {{k: [{', '.join(k)}], j: [{', '.join(j)}]}}",
        ]
        lines += [f"    outputs: {{o: {{path: '{rng.choice(PATHS)}'}}}}"]
        condition = rng.choice(CONDITIONS)
        if condition:
            lines.append(f'    if: "{condition}"')
    return "\n".join(lines) + "\n"


def test_validation_predicts_planning() -> None:
    rng = random.Random(2026)
    accepted = rejected = 0
    for _ in range(300):
        text = _random_spec(rng)
        result = load_spec(text)
        assert all(d.code != "RL100" for d in result.diagnostics), text
        if not result.ok:
            rejected += 1
            continue
        accepted += 1
        assert result.pipeline is not None
        try:
            compile_plan(result.pipeline, resolve_params(result.pipeline, {}))
        except (PlanError, ExpressionError) as exc:
            raise AssertionError(f"validate accepted a spec the planner refuses: {exc}\n{text}") from exc
    assert accepted > 30 and rejected > 30  # both sides of the property were exercised
