"""`from:` edges between matrix jobs: found through an index on the shared matrix keys, same result
as comparing every pair, in linear time."""

from __future__ import annotations

import textwrap

from reefline.plan.compiler import compile_plan
from reefline.plan.ir import Plan
from reefline.plan.matrix import matches
from reefline.spec import load_spec, resolve_params


def plan_of(text: str) -> Plan:
    loaded = load_spec(textwrap.dedent(text), "reefline.yaml")
    assert loaded.pipeline is not None, [d.format() for d in loaded.diagnostics]
    return compile_plan(loaded.pipeline, resolve_params(loaded.pipeline, {}))


PARTIAL = """
version: 1
name: partial
jobs:
  prep:
    matrix: {split: [a, b], seed: [1, 2, 3]}
    script: [echo]
    outputs: {d: {path: "d-${{ matrix.split }}-${{ matrix.seed }}"}}
  fit:
    matrix: {split: [a, b], model: [x, y]}
    script: [echo]
    inputs: {d: {from: prep.d}}
  report:
    script: [echo]
    inputs: {d: {from: prep.d}}
    outputs: {r: {path: r.txt}}
"""


def test_matrix_consumers_get_exactly_the_expansions_that_share_their_values() -> None:
    plan = plan_of(PARTIAL)
    prep = [s for s in plan.steps if s.job == "prep"]
    for fit in (s for s in plan.steps if s.job == "fit"):
        expected = tuple(p.id for p in prep if matches(dict(fit.matrix), dict(p.matrix)))
        assert fit.needs == expected
        assert len(fit.needs) == 3  # the three seeds of its split, in declaration order
    assert plan.step("fit[split=b,model=y]").inputs[0].paths == ("d-b-1", "d-b-2", "d-b-3")
    assert len(plan.step("report").needs) == 6  # no matrix: every expansion


def test_paired_matrices_of_5000_have_one_edge_each() -> None:
    values = ", ".join(str(i) for i in range(5000))
    plan = plan_of(
        f"""
        version: 1
        name: paired
        jobs:
          prepare:
            matrix: {{i: [{values}]}}
            script: [echo]
            outputs: {{d: {{path: "d-${{{{ matrix.i }}}}.txt"}}}}
          train:
            matrix: {{i: [{values}]}}
            script: [echo]
            inputs: {{d: {{from: prepare.d}}}}
        """
    )
    assert plan.step("train[i=4321]").needs == ("prepare[i=4321]",)
    assert sum(len(s.needs) for s in plan.steps) == 5000
