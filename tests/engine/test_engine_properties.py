"""Property test of the scheduler: random graphs, random failures, the invariants a user relies on.

Runs on the fault-injecting FakeExecutor (no processes), so hypothesis can try many graphs.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reefline.engine.runner import RunExecution
from reefline.engine.states import TERMINAL_JOB_STATES, JobState, RunState
from reefline.executors.fake import Behavior, FakeExecutor
from reefline.plan.ir import Plan, ShellCommand, Step, When
from reefline.store import repo
from reefline.store.db import open_database
from tests.engine.support import Recorder

_counter = itertools.count()


@st.composite
def graphs(draw: st.DrawFn) -> list[tuple[Step, bool]]:
    """Steps in topological order, each with whether its (only) attempt fails."""
    n = draw(st.integers(1, 9))
    steps = []
    for i in range(n):
        needs = draw(st.sets(st.integers(0, i - 1), max_size=3)) if i else set()
        step = Step(
            id=f"j{i}",
            job=f"j{i}",
            stage="default",
            command=ShellCommand(("true",)),
            env=(),
            needs=tuple(f"j{k}" for k in sorted(needs)),
            allow_failure=draw(st.booleans()),
            when=draw(st.sampled_from([When.ON_SUCCESS, When.ON_SUCCESS, When.ON_FAILURE, When.ALWAYS])),
            cache=False,
        )
        steps.append((step, draw(st.booleans())))
    return steps


def _run(db: sa.Engine, workspace: Path, graph: list[tuple[Step, bool]], parallelism: int) -> Recorder:
    plan = Plan("prop", tuple(step for step, _ in graph))
    with db.begin() as conn:
        pipeline = repo.get_or_create_pipeline(conn, "prop", str(workspace), 0.0)
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
                 "needs": list(s.needs), "state": "pending", "allow_failure": s.allow_failure}
                for i, s in enumerate(plan.steps)
            ],
        )  # fmt: skip
    executor = FakeExecutor(
        behaviors={s.id: Behavior.fail(3) if fails else Behavior.succeed() for s, fails in graph}
    )
    recorder = Recorder()
    RunExecution(
        db=db, run_id=run_id, plan=plan, job_ids=job_ids, states=dict.fromkeys(job_ids, JobState.PENDING),
        attempts={}, workspace=workspace, executor=executor, observer=recorder, parallelism=parallelism,
    ).execute()  # fmt: skip
    return recorder


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(graph=graphs(), parallelism=st.integers(1, 4))
def test_scheduler_invariants(tmp_path: Path, graph: list[tuple[Step, bool]], parallelism: int) -> None:
    workspace = tmp_path / f"ws{next(_counter)}"
    workspace.mkdir()
    db = open_database(f"sqlite:///{workspace / 'r.db'}")
    try:
        rec = _run(db, workspace, graph, parallelism)
    finally:
        db.dispose()
    final = rec.final()
    steps = {s.id: s for s, _ in graph}
    fails = {s.id: f for s, f in graph}
    assert set(final) == set(steps) and all(state in TERMINAL_JOB_STATES for state in final.values())

    order = {(e.name, e.state): i for i, e in enumerate(rec.events)}
    running: set[str] = set()
    for event in rec.events:
        if event.state is JobState.RUNNING:
            running.add(event.name)
        elif event.state in TERMINAL_JOB_STATES:
            running.discard(event.name)
        assert len(running) <= parallelism
    failure_upstream: dict[str, bool] = {}
    for sid, step in steps.items():  # topological order
        failure_upstream[sid] = any(
            (final[up] is JobState.FAILED and not steps[up].allow_failure) or failure_upstream[up]
            for up in step.needs
        )
    for sid, step in steps.items():
        ran = (sid, JobState.RUNNING) in order
        if ran:  # nothing starts before everything it needs has finished
            assert all(order[(up, final[up])] < order[(sid, JobState.RUNNING)] for up in step.needs)
            assert final[sid] is (JobState.FAILED if fails[sid] else JobState.SUCCESS)
        if step.when is When.ALWAYS:
            assert ran
        elif step.when is When.ON_FAILURE:
            assert ran == failure_upstream[sid], sid
        else:
            ok = all(
                final[up] is JobState.SUCCESS
                or (final[up] is JobState.FAILED and steps[up].allow_failure)
                or (final[up] is JobState.SKIPPED and steps[up].when is When.ON_FAILURE)
                for up in step.needs
            )
            assert ran == ok, sid

    failed = [s for s in steps if final[s] is JobState.FAILED and not steps[s].allow_failure]
    assert rec.finished is not None
    assert rec.finished[0] is (RunState.FAILED if failed else RunState.SUCCESS)
