"""The compiler is pure: these tests build plans from spec text without running anything."""

from __future__ import annotations

import json
import textwrap

import pytest

from reefline.plan.compiler import PlanError, compile_plan
from reefline.plan.graph import CycleError, find_cycle, topological_order
from reefline.plan.ir import PythonCommand, ShellCommand, When
from reefline.plan.selection import select
from reefline.spec import load_spec, resolve_params


def plan_of(text: str, **overrides: str):
    loaded = load_spec(textwrap.dedent(text), "reefline.yaml")
    assert loaded.pipeline is not None, [d.format() for d in loaded.diagnostics]
    return compile_plan(loaded.pipeline, resolve_params(loaded.pipeline, overrides))


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


def test_stage_order_makes_a_job_wait_for_every_earlier_stage() -> None:
    plan = plan_of(STAGED)
    assert plan.upstream("unit") == ("compile", "lint")
    assert set(plan.upstream("ship")) == {"compile", "lint", "unit"}
    # through barriers, not edges: `ship` waits for the barrier of `test`, which waits for `build`'s
    assert plan.step("ship").needs == () and plan.step("ship").after_stage == "test"
    assert plan.step("ship").needs_labels() == ("after stage test",)


def test_explicit_empty_needs_starts_at_once_whatever_the_stage() -> None:
    early = plan_of(STAGED).step("early")
    assert early.needs == () and early.after_stage is None
    assert plan_of(STAGED).upstream("early") == ()


def test_steps_come_in_dependency_order() -> None:
    plan = plan_of(STAGED)
    position = {s.id: i for i, s in enumerate(plan.steps)}
    for step in plan.steps:
        assert all(position[n] < position[step.id] for n in plan.upstream(step.id))


MATRIX = """
version: 1
name: m
params:
  lr: 0.1
jobs:
  prepare:
    script: [echo prep > data.csv]
    outputs: {data: {path: data.csv, type: dataset/csv}}
  train:
    needs: []
    matrix: {model: [tree, logreg], depth: [1, 2]}
    script:
      - >-
        train --model ${{ matrix.model }} --depth ${{ matrix.depth }}
        --lr ${{ params.lr }} ${{ inputs.data.path }}
    inputs: {data: {from: prepare.data}}
    outputs: {model: {path: "m-${{ matrix.model }}-${{ matrix.depth }}.pkl", type: model/pickle}}
  evaluate:
    needs: []
    matrix: {model: [tree, logreg]}
    run: steps.evaluate:main
    inputs: {model: {from: train.model}}
    metrics: "metrics-${{ matrix.model }}.json"
  report:
    needs: []
    run: steps.report:main
    inputs: {metrics: {from: evaluate.metrics}}
  after:
    needs: [train]
    script: [echo done]
"""


def test_matrix_expands_into_named_steps_with_rendered_scripts() -> None:
    plan = plan_of(MATRIX)
    ids = [s.id for s in plan.steps if s.job == "train"]
    assert ids == [
        "train[model=tree,depth=1]",
        "train[model=tree,depth=2]",
        "train[model=logreg,depth=1]",
        "train[model=logreg,depth=2]",
    ]
    step = plan.step("train[model=logreg,depth=2]")
    assert isinstance(step.command, ShellCommand)
    assert step.command.lines == ("train --model logreg --depth 2 --lr 0.1 data.csv",)
    assert step.outputs[0].path == "m-logreg-2.pkl"
    assert step.needs == ("prepare",)


def test_from_matches_expansions_on_shared_matrix_keys() -> None:
    plan = plan_of(MATRIX)
    evaluate = plan.step("evaluate[model=tree]")
    assert evaluate.needs == ("train[model=tree,depth=1]", "train[model=tree,depth=2]")
    assert evaluate.inputs[0].paths == ("m-tree-1.pkl", "m-tree-2.pkl")
    assert evaluate.inputs[0].type == "model/pickle"


def test_consumer_without_matrix_gets_every_expansion_and_metrics_is_an_output() -> None:
    report = plan_of(MATRIX).step("report")
    assert report.inputs[0].paths == ("metrics-tree.json", "metrics-logreg.json")
    assert report.inputs[0].type == "metrics/json"
    assert isinstance(report.command, PythonCommand)


def test_needs_on_a_matrix_job_waits_for_all_expansions() -> None:
    assert len(plan_of(MATRIX).step("after").needs) == 4


def test_param_override_changes_rendering_and_definition_hash() -> None:
    a = plan_of(MATRIX).step("train[model=tree,depth=1]")
    b = plan_of(MATRIX, lr="0.5").step("train[model=tree,depth=1]")
    assert "--lr 0.5" in b.command.lines[0]  # type: ignore[union-attr]
    assert a.definition_hash != b.definition_hash
    # a script job that does not mention the param keeps its definition
    assert (
        plan_of(MATRIX).step("prepare").definition_hash
        == plan_of(MATRIX, lr="0.5").step("prepare").definition_hash
    )


def test_if_false_marks_the_step_skipped_with_the_expression() -> None:
    plan = plan_of(
        """
        version: 1
        name: cond
        params: {deploy: false}
        jobs:
          ship: {script: [echo], if: "params.deploy == true"}
          notify: {script: [echo], when: always}
        """
    )
    assert plan.step("ship").skip_reason == "if: params.deploy == true is false"
    assert plan.step("notify").when is When.ALWAYS


def test_two_expansions_writing_one_path_is_a_plan_error() -> None:
    with pytest.raises(PlanError, match=r"both write 'model\.pkl'"):
        plan_of(
            """
            version: 1
            name: clash
            jobs:
              train:
                matrix: {model: [a, b]}
                script: [touch model.pkl]
                outputs: {model: {path: model.pkl}}
            """
        )


def test_retry_and_timeout_come_from_defaults_unless_the_job_sets_them() -> None:
    plan = plan_of(
        """
        version: 1
        name: policies
        defaults: {timeout: 10m, retry: 2}
        jobs:
          a: {script: [x]}
          b: {script: [x], timeout: 90s, retry: {max: 1, delay: 2s, backoff: 3}}
        """
    )
    assert plan.step("a").timeout == 600 and plan.step("a").retry.max == 2
    b = plan.step("b")
    assert b.timeout == 90 and b.retry.max == 1
    assert b.retry.delay_before(2) == 2 and b.retry.delay_before(3) == 6


def test_select_only_and_from() -> None:
    plan = plan_of(MATRIX)
    only = select(plan, only=["evaluate"])
    assert [s.id for s in only.steps] == ["evaluate[model=tree]", "evaluate[model=logreg]"]
    assert all(s.needs == () for s in only.steps)
    downstream = select(plan, from_job="evaluate[model=tree]")
    assert [s.id for s in downstream.steps] == ["evaluate[model=tree]", "report"]
    with pytest.raises(PlanError, match="did you mean 'train'"):
        select(plan, only=["trian"])


def test_graph_cycle_is_reported_as_a_path() -> None:
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    with pytest.raises(CycleError, match="a -> b -> a"):
        topological_order({"a": ["b"], "b": ["a"]})


def test_a_run_job_depends_on_the_params_it_lists() -> None:
    spec = """
    version: 1
    name: p
    params: {lr: 0.1, seed: 1}
    jobs:
      all: {run: "steps:main"}
      some: {run: "steps:main", params: [lr]}
    """
    base, reseeded = plan_of(spec), plan_of(spec, seed="2")
    assert base.step("all").definition_hash != reseeded.step("all").definition_hash
    assert base.step("some").definition_hash == reseeded.step("some").definition_hash
    context = json.loads(dict(base.step("some").env)["REEFLINE_CONTEXT"])
    assert context["params"] == {"lr": 0.1}


def test_an_unknown_selection_lists_job_names_not_every_expansion() -> None:
    values = ", ".join(str(i) for i in range(500))
    plan = plan_of(
        f"""
        version: 1
        name: big
        jobs:
          train: {{matrix: {{i: [{values}]}}, script: [echo]}}
          qqq: {{script: [echo]}}
        """
    )
    with pytest.raises(PlanError) as raised:
        select(plan, only=["zzzz"])
    assert str(raised.value) == "unknown job 'zzzz' in --only; jobs are: qqq, train"
