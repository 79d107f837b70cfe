"""Stage barriers in the engine: the same semantics as an edge to every job of every earlier stage.

The property test schedules random staged graphs (FakeExecutor, no processes) and checks ordering
and when:/allow_failure semantics against the all-to-all reading of stage order. The scenario
tests run real processes on SQLite and PostgreSQL.
"""

from __future__ import annotations

import itertools
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reefline.engine.runner import RunExecution
from reefline.engine.states import TERMINAL_JOB_STATES, JobState, RunState
from reefline.executors.fake import Behavior, FakeExecutor
from reefline.plan.graph import topological_order
from reefline.plan.ir import Plan, ShellCommand, Step, When
from reefline.plan.stages import build_barriers, dependency_graph, previous_stages
from reefline.store import repo
from reefline.store.db import open_database
from tests.engine.support import Recorder

if TYPE_CHECKING:
    from tests.engine.support import Project

_counter = itertools.count()
STAGES = ("s0", "s1", "s2", "s3")


@st.composite
def staged_plans(draw: st.DrawFn) -> tuple[Plan, dict[str, bool]]:
    """A plan as the compiler makes it: stage order through barriers, some explicit needs."""
    n = draw(st.integers(1, 10))
    stage_of = sorted(draw(st.lists(st.sampled_from(STAGES), min_size=n, max_size=n)), key=STAGES.index)
    members: dict[str, list[str]] = {}
    for i, stage in enumerate(stage_of):
        members.setdefault(stage, []).append(f"j{i}")
    previous = previous_stages(STAGES, members)
    steps, fails = [], {}
    for i, stage in enumerate(stage_of):
        explicit = draw(st.booleans())  # `needs:` written (only on earlier stages, as the linter wants)
        earlier = [k for k in range(i) if STAGES.index(stage_of[k]) < STAGES.index(stage)]
        needs = sorted(draw(st.sets(st.sampled_from(earlier), max_size=3))) if explicit and earlier else []
        steps.append(
            Step(
                id=f"j{i}",
                job=f"j{i}",
                stage=stage,
                command=ShellCommand(("true",)),
                env=(),
                needs=tuple(f"j{k}" for k in needs),
                allow_failure=draw(st.booleans()),
                when=draw(st.sampled_from([When.ON_SUCCESS, When.ON_SUCCESS, When.ON_FAILURE, When.ALWAYS])),
                cache=False,
                after_stage=None if explicit else previous[stage],
            )
        )
        fails[f"j{i}"] = draw(st.booleans())
    barriers = build_barriers(STAGES, members, previous, steps)
    order = topological_order(dependency_graph(steps, barriers))
    by_id = {s.id: s for s in steps}
    return Plan("staged", tuple(by_id[sid] for sid in order if sid in by_id), barriers=barriers), fails


def _execute(
    db: sa.Engine, workspace: Path, plan: Plan, fails: dict[str, bool], parallelism: int
) -> Recorder:
    with db.begin() as conn:
        pipeline = repo.get_or_create_pipeline(conn, "staged", str(workspace), 0.0)
        run_id = repo.create_run(
            conn, pipeline_id=pipeline, spec_text="", spec_path=str(workspace), spec_hash="0" * 64,
            params={}, workspace=str(workspace), options={}, trigger="test", owner_host="h",
            owner_pid=0, now=0.0,
        )  # fmt: skip
        job_ids = repo.create_jobs(
            conn,
            run_id,
            [
                {"name": s.id, "job": s.job, "stage": s.stage, "position": i, "matrix": {},
                 "needs": list(s.needs_labels()), "state": "pending", "allow_failure": s.allow_failure}
                for i, s in enumerate(plan.steps)
            ],
        )  # fmt: skip
    executor = FakeExecutor(
        behaviors={sid: Behavior.fail(3) if failing else Behavior.succeed() for sid, failing in fails.items()}
    )
    recorder = Recorder()
    RunExecution(
        db=db, run_id=run_id, plan=plan, job_ids=job_ids, states=dict.fromkeys(job_ids, JobState.PENDING),
        attempts={}, workspace=workspace, executor=executor, observer=recorder, parallelism=parallelism,
    ).execute()  # fmt: skip
    return recorder


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=staged_plans(), parallelism=st.integers(1, 4))
def test_barriers_schedule_like_edges_to_every_earlier_stage(
    tmp_path: Path, drawn: tuple[Plan, dict[str, bool]], parallelism: int
) -> None:
    plan, fails = drawn
    workspace = tmp_path / f"ws{next(_counter)}"
    workspace.mkdir()
    db = open_database(f"sqlite:///{workspace / 'r.db'}")
    try:
        rec = _execute(db, workspace, plan, fails, parallelism)
    finally:
        db.dispose()
    final = rec.final()
    steps = {s.id: s for s in plan.steps}
    ups = {sid: plan.upstream(sid) for sid in steps}  # the all-to-all reading of stage order
    assert set(final) == set(steps) and all(state in TERMINAL_JOB_STATES for state in final.values())
    order = {(e.name, e.state): i for i, e in enumerate(rec.events)}
    failure_upstream: dict[str, bool] = {}
    for sid in steps:  # topological order
        failure_upstream[sid] = any(
            (final[up] is JobState.FAILED and not steps[up].allow_failure) or failure_upstream[up]
            for up in ups[sid]
        )
    for sid, step in steps.items():
        ran = (sid, JobState.RUNNING) in order
        if ran:
            assert all(order[(up, final[up])] < order[(sid, JobState.RUNNING)] for up in ups[sid]), sid
        if step.when is When.ALWAYS:
            assert ran, sid
        elif step.when is When.ON_FAILURE:
            assert ran == failure_upstream[sid], sid
        else:
            ok = all(
                final[up] is JobState.SUCCESS
                or (final[up] is JobState.FAILED and steps[up].allow_failure)
                or (final[up] is JobState.SKIPPED and steps[up].when is When.ON_FAILURE)
                for up in ups[sid]
            )
            assert ran == ok, sid


def test_a_failure_in_an_early_stage_skips_later_stages_but_runs_handlers(project: Project) -> None:
    project.write(
        """
        version: 1
        name: fail
        stages: [build, test, deploy]
        jobs:
          ok: {stage: build, script: ["true"]}
          broken: {stage: build, script: ["exit 4"]}
          unit: {stage: test, script: ["true"]}
          report: {stage: test, when: always, script: ["true"]}
          alert: {stage: deploy, when: on_failure, script: ["true"]}
          ship: {stage: deploy, script: ["true"]}
        """
    )
    outcome, rec = project.run()
    assert outcome.state is RunState.FAILED
    stored = {d.job.name: d.job.needs for d in project.detail().jobs}
    assert stored["ship"] == ["after stage test"] and stored["ok"] == []  # one marker, not 3 jobs
    final = rec.final()
    assert final["unit"] is JobState.SKIPPED
    assert final["report"] is JobState.SUCCESS and final["alert"] is JobState.SUCCESS
    assert final["ship"] is JobState.SKIPPED
    reasons = {e.name: e.reason for e in rec.events if e.state is JobState.SKIPPED}
    assert reasons["unit"] == "upstream job 'broken' failed"
    assert reasons["ship"] == "upstream job 'broken' failed"  # two stages on, through the barriers


def test_a_failure_two_stages_back_reaches_a_handler_past_a_stage_that_did_not_see_it(
    project: Project,
) -> None:
    project.write(
        """
        version: 1
        name: far
        stages: [build, test, deploy]
        jobs:
          broken: {stage: build, script: ["exit 4"]}
          lint: {stage: test, needs: [], script: ["true"]}
          alert: {stage: deploy, when: on_failure, script: ["true"]}
        """
    )
    _, rec = project.run()
    assert rec.final()["lint"] is JobState.SUCCESS
    assert rec.final()["alert"] is JobState.SUCCESS


def test_an_allowed_failure_lets_later_stages_run_and_handlers_stay_idle(project: Project) -> None:
    project.write(
        """
        version: 1
        name: allowed
        stages: [build, test]
        jobs:
          flaky: {stage: build, allow_failure: true, script: ["exit 1"]}
          unit: {stage: test, script: ["true"]}
          alert: {stage: test, when: on_failure, script: ["true"]}
        """
    )
    outcome, rec = project.run()
    assert outcome.state is RunState.SUCCESS
    assert rec.final()["unit"] is JobState.SUCCESS
    assert rec.final()["alert"] is JobState.SKIPPED


def test_cancel_during_an_early_stage_cancels_every_later_stage(project: Project) -> None:
    project.write(
        """
        version: 1
        name: cancel
        stages: [one, two, three]
        jobs:
          slow: {stage: one, matrix: {i: [1, 2]}, script: ["sleep 30"]}
          mid: {stage: two, matrix: {i: [1, 2, 3]}, script: ["true"]}
          last: {stage: three, script: ["true"]}
        """
    )
    cancel = threading.Event()
    recorder = Recorder(on_event=lambda e: e.state is JobState.RUNNING and cancel.set())
    outcome, rec = project.run(cancel=cancel, recorder=recorder)
    assert outcome.state is RunState.CANCELED
    final = rec.final()
    assert all(final[f"mid[i={i}]"] is JobState.CANCELED for i in (1, 2, 3))
    assert final["last"] is JobState.CANCELED
    assert not any(e.state is JobState.RUNNING for e in rec.events if not e.name.startswith("slow"))


def test_an_earlier_stage_output_change_reruns_a_later_job_without_inputs(project: Project) -> None:
    project.write(
        """
        version: 1
        name: cache
        params: {v: "1"}
        stages: [make, use]
        jobs:
          produce:
            stage: make
            script: ["echo ${{ params.v }} > a.txt"]
            outputs: {a: {path: a.txt}}
          other: {stage: make, script: ["echo > o.txt"], outputs: {o: {path: o.txt}}}
          consume:
            stage: use
            script: ["echo used > b.txt"]
            outputs: {b: {path: b.txt}}
        """
    )
    assert project.run()[1].final()["consume"] is JobState.SUCCESS
    assert project.run()[1].final()["consume"] is JobState.CACHED
    rerun = project.run(params={"v": "2"})[1].final()
    assert rerun["produce"] is JobState.SUCCESS and rerun["other"] is JobState.CACHED
    assert rerun["consume"] is JobState.SUCCESS  # its key holds the digest of stage `make`


def test_a_retry_keeps_earlier_successes_in_the_barrier_and_runs_what_was_skipped(project: Project) -> None:
    from reefline.services.runs import retry_run
    from reefline.services.types import RunOptions

    project.write(
        """
        version: 1
        name: retry
        stages: [one, two, three]
        jobs:
          ok: {stage: one, script: ["echo ok >> ok.log"]}
          flaky: {stage: one, script: ["test -f marker || { touch marker; exit 1; }"]}
          mid: {stage: two, script: ["true"]}
          last: {stage: three, script: ["true"]}
        """
    )
    outcome, rec = project.run()
    assert outcome.state is RunState.FAILED and rec.final()["last"] is JobState.SKIPPED
    again = Recorder()
    retried = retry_run(project.path, "last", RunOptions(), again, threading.Event())
    assert retried.state is RunState.SUCCESS
    assert again.final() == {"flaky": JobState.SUCCESS, "mid": JobState.SUCCESS, "last": JobState.SUCCESS}
    assert (project.path / "ok.log").read_text() == "ok\n"  # the earlier success is not run again


def test_from_and_only_follow_the_barriers(project: Project) -> None:
    project.write(
        """
        version: 1
        name: select
        stages: [one, two, three]
        jobs:
          first: {stage: one, script: ["echo first >> ran.log"]}
          other: {stage: one, script: ["echo other >> ran.log"]}
          mid: {stage: two, script: ["echo mid >> ran.log"]}
          last: {stage: three, script: ["echo last >> ran.log"]}
        """
    )
    outcome, rec = project.run(from_job="other", parallelism=1)
    assert outcome.state is RunState.SUCCESS
    assert set(rec.final()) == {"other", "mid", "last"}
    assert (project.path / "ran.log").read_text().split() == ["other", "mid", "last"]
    outcome, rec = project.run(only=("first", "last"))
    assert set(rec.final()) == {"first", "last"}
    order = [(e.name, e.state) for e in rec.events]
    # `last` still waits for what is left of the earlier stages
    assert order.index(("first", JobState.SUCCESS)) < order.index(("last", JobState.RUNNING))
