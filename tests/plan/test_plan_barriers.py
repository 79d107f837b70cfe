"""Stage order as one barrier per stage: O(N) edges, same semantics as all-to-all edges."""

from __future__ import annotations

import textwrap

import pytest

from reefline.plan.compiler import PlanError, compile_plan
from reefline.plan.ir import Plan
from reefline.plan.selection import select
from reefline.spec import load_spec, resolve_params


def plan_of(text: str, **overrides: str) -> Plan:
    loaded = load_spec(textwrap.dedent(text), "reefline.yaml")
    assert loaded.pipeline is not None, [d.format() for d in loaded.diagnostics]
    return compile_plan(loaded.pipeline, resolve_params(loaded.pipeline, overrides))


def two_stages(width: int) -> str:
    values = ", ".join(str(i) for i in range(width))
    return f"""
    version: 1
    name: wide
    stages: [one, two]
    jobs:
      a: {{stage: one, matrix: {{i: [{values}]}}, script: [echo]}}
      b: {{stage: two, matrix: {{i: [{values}]}}, script: [echo]}}
    """


def edge_count(plan: Plan) -> int:
    """Explicit needs, barrier members, barrier chain links and steps waiting for a barrier."""
    return sum(len(s.needs) + (s.after_stage is not None) for s in plan.steps) + sum(
        len(b.members) + (b.after is not None) for b in plan.barriers
    )


def test_two_stages_of_2500_jobs_have_linear_edges_not_quadratic() -> None:
    plan = plan_of(two_stages(2500))
    assert len(plan.steps) == 5000
    # all-to-all stage edges would be 2500 * 2500 = 6.25M; a barrier makes it 2 * 2500
    assert edge_count(plan) == 5000
    assert [b.stage for b in plan.barriers] == ["one"]
    assert len(plan.upstream("b[i=7]")) == 2500


def test_a_later_stage_waits_for_every_earlier_stage_through_the_chain() -> None:
    plan = plan_of(
        """
        version: 1
        name: chain
        stages: [build, empty, test, deploy]
        jobs:
          compile: {stage: build, script: [make]}
          quick: {stage: test, needs: [], script: [echo]}
          ship: {stage: deploy, script: [echo]}
        """
    )
    # `quick` opts out of stage order itself, but stays a member of its stage for `ship`
    assert plan.step("quick").after_stage is None
    assert plan.step("ship").after_stage == "test"
    assert plan.barrier("test").after == "build"  # the empty stage is skipped
    assert set(plan.upstream("ship")) == {"compile", "quick"}


def test_from_edges_are_explicit_needs_beside_the_barrier() -> None:
    plan = plan_of(
        """
        version: 1
        name: both
        stages: [prep, train]
        jobs:
          data:
            stage: prep
            script: [touch d.csv]
            outputs: {d: {path: d.csv}}
          other: {stage: prep, script: [echo]}
          fit:
            stage: train
            script: [echo]
            inputs: {d: {from: data.d}}
        """
    )
    fit = plan.step("fit")
    assert fit.needs == ("data",) and fit.after_stage == "prep"
    assert fit.needs_labels() == ("data", "after stage prep")
    assert set(plan.upstream("fit")) == {"data", "other"}


STAGED = """
version: 1
name: staged
stages: [build, test, deploy]
jobs:
  compile: {stage: build, script: [make]}
  lint: {stage: build, script: [ruff]}
  unit: {stage: test, script: [pytest]}
  ship: {stage: deploy, script: [echo ship]}
  early: {stage: deploy, needs: [], script: [echo early]}
"""


def test_from_follows_stage_barriers_downstream() -> None:
    plan = select(plan_of(STAGED), from_job="lint")
    assert [s.id for s in plan.steps] == ["lint", "unit", "ship"]
    assert plan.upstream("unit") == ("lint",)
    assert set(plan.upstream("ship")) == {"lint", "unit"}


def test_only_drops_emptied_barriers_and_keeps_the_rest() -> None:
    plan = select(plan_of(STAGED), only=["unit", "ship"])
    assert [b.stage for b in plan.barriers] == ["test"]
    assert plan.step("unit").after_stage is None  # nothing of `build` is left to wait for
    assert plan.upstream("ship") == ("unit",)
    assert all(s.after_stage is None for s in select(plan_of(STAGED), only=["ship"]).steps)


PATHS = """
version: 1
name: paths
params: {d: out, src: data.csv}
jobs:
  train:
    script: [echo]
    inputs: {data: {path: "${{ params.src }}"}}
    outputs: {model: {path: "${{ params.d }}/model.pkl"}}
"""


@pytest.mark.parametrize(
    ("override", "field", "why"),
    [
        ({"d": "../.."}, ("jobs", "train", "outputs", "model", "path"), "through '..'"),
        ({"d": "/tmp"}, ("jobs", "train", "outputs", "model", "path"), "is absolute"),
        ({"src": "../secret.csv"}, ("jobs", "train", "inputs", "data", "path"), "through '..'"),
        ({"src": "~/x"}, ("jobs", "train", "inputs", "data", "path"), "starts with '~'"),
    ],
)
def test_a_param_that_sends_a_path_out_of_the_workspace_is_a_located_plan_error(
    override: dict[str, str], field: tuple[str, ...], why: str
) -> None:
    with pytest.raises(PlanError, match=why) as raised:
        plan_of(PATHS, **override)
    assert raised.value.path == field
    assert raised.value.code == "RL506"


def test_a_path_that_goes_down_and_up_again_stays_inside() -> None:
    assert plan_of(PATHS, d="out/../elsewhere").step("train").outputs[0].path == "out/../elsewhere/model.pkl"


def test_params_making_two_jobs_write_one_path_name_the_second_writer() -> None:
    spec = """
    version: 1
    name: clash
    params: {a: one, b: two}
    jobs:
      first: {script: [echo], outputs: {o: {path: "${{ params.a }}.txt"}}}
      second: {script: [echo], outputs: {o: {path: "${{ params.b }}.txt"}}}
    """
    with pytest.raises(PlanError, match=r"'first' and 'second' both write 'x\.txt'") as raised:
        plan_of(spec, a="x", b="./x")
    assert raised.value.path == ("jobs", "second", "outputs", "o", "path")
