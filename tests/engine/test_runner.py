"""The engine with real processes (LocalExecutor): ordering, parallelism, failure semantics, retries."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from reefline.engine.states import JobState, RunState

if TYPE_CHECKING:
    from reefline.artifacts.hashing import Hasher
    from reefline.plan.ir import Step
    from tests.engine.support import Project


def test_parallel_jobs_really_overlap(project: Project) -> None:
    # Each job marks that it started, then succeeds only once it has seen the other two started:
    # in sequence none could (each gives up after 20 s), whatever the machine's speed.
    wait_for_all = (
        "touch started.$REEFLINE_JOB; for i in $(seq 200); do "
        "[ -e started.a ] && [ -e started.b ] && [ -e started.c ] && exit 0; sleep 0.1; done; exit 1"
    )
    project.write(
        f"""
        version: 1
        name: par
        jobs:
          a: {{script: ["{wait_for_all}"]}}
          b: {{script: ["{wait_for_all}"]}}
          c: {{script: ["{wait_for_all}"]}}
        """
    )
    outcome, rec = project.run(parallelism=3)
    assert outcome.state is RunState.SUCCESS, rec.logs
    assert rec.final() == dict.fromkeys("abc", JobState.SUCCESS)


def test_an_exception_inside_a_worker_fails_that_job_and_the_run_ends(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reefline.engine import cache

    real = cache.collect_outputs

    def broken(step: Step, hasher: Hasher) -> cache.Collected:
        if step.id == "broken":
            raise FileNotFoundError(2, "No such file or directory", "out/gone")
        return real(step, hasher)

    monkeypatch.setattr(cache, "collect_outputs", broken)
    project.write(
        """
        version: 1
        name: bug
        jobs:
          broken: {script: ["echo made > out.txt"], outputs: {out: {path: out.txt}}}
          fine: {script: ["echo made > fine.txt"], outputs: {out: {path: fine.txt}}}
          after: {needs: [broken], script: ["true"]}
        """
    )
    outcome, rec = project.run(parallelism=2)
    assert outcome.state is RunState.FAILED
    jobs = {j.job.name: j.job for j in project.detail().jobs}
    assert jobs["broken"].state == "failed"
    assert (
        jobs["broken"].reason
        == "internal error: FileNotFoundError: [Errno 2] No such file or directory: 'out/gone'"
    )
    assert jobs["fine"].state == "success"
    assert jobs["after"].state == "skipped"
    assert any(n == "broken" and "Traceback" in t for n, _, t in rec.logs)


def test_parallelism_limit_is_respected(project: Project) -> None:
    project.write(
        """
        version: 1
        name: limit
        jobs:
          a: {script: ["sleep 0.4"]}
          b: {script: ["sleep 0.4"]}
          c: {script: ["sleep 0.4"]}
        """
    )
    _, rec = project.run(parallelism=1)
    running = 0
    peak = 0
    for e in rec.events:
        running += {JobState.RUNNING: 1, JobState.SUCCESS: -1}.get(e.state, 0)
        peak = max(peak, running)
    assert peak == 1


def test_stage_order_and_needs(project: Project) -> None:
    project.write(
        """
        version: 1
        name: order
        stages: [one, two]
        jobs:
          first: {stage: one, script: ["sleep 1; echo first >> order.txt"]}
          second: {stage: two, script: ["echo second >> order.txt"]}
          independent: {stage: two, needs: [], script: ["echo independent >> order.txt"]}
        """
    )
    outcome, _ = project.run(parallelism=4)
    assert outcome.state is RunState.SUCCESS
    lines = (project.path / "order.txt").read_text().split()
    assert lines.index("independent") < lines.index("first") < lines.index("second")


def test_script_stops_at_first_failing_line_and_downstream_is_skipped(project: Project) -> None:
    project.write(
        """
        version: 1
        name: fail
        jobs:
          broken: {script: ["echo before", "exit 3", "echo after"]}
          later: {needs: [broken], script: ["echo later"]}
        """
    )
    outcome, rec = project.run()
    assert outcome.state is RunState.FAILED and "broken" in (outcome.reason or "")
    job = {j.job.name: j.job for j in project.detail().jobs}
    assert job["broken"].state == "failed" and job["broken"].exit_code == 3
    assert job["later"].state == "skipped" and "broken" in (job["later"].reason or "")
    texts = [t for n, _, t in rec.logs if n == "broken"]
    assert "before" in texts and "after" not in texts


def test_allow_failure_lets_the_run_and_downstream_succeed(project: Project) -> None:
    project.write(
        """
        version: 1
        name: allowed
        jobs:
          flaky: {script: ["exit 1"], allow_failure: true}
          next: {needs: [flaky], script: ["true"]}
        """
    )
    outcome, rec = project.run()
    assert outcome.state is RunState.SUCCESS
    assert rec.final() == {"flaky": JobState.FAILED, "next": JobState.SUCCESS}


def test_when_on_failure_and_always(project: Project) -> None:
    project.write(
        """
        version: 1
        name: when
        stages: [build, after]
        jobs:
          build: {stage: build, script: ["exit 1"]}
          cleanup: {stage: after, when: always, script: ["true"]}
          alert: {stage: after, when: on_failure, script: ["true"]}
          deploy: {stage: after, script: ["true"]}
        """
    )
    outcome, rec = project.run()
    assert outcome.state is RunState.FAILED
    assert rec.final() == {
        "build": JobState.FAILED,
        "cleanup": JobState.SUCCESS,
        "alert": JobState.SUCCESS,
        "deploy": JobState.SKIPPED,
    }


def test_on_failure_job_is_skipped_when_nothing_failed_and_does_not_block_later_stages(
    project: Project,
) -> None:
    project.write(
        """
        version: 1
        name: when-ok
        stages: [build, handle, ship]
        jobs:
          build: {stage: build, script: ["true"]}
          alert: {stage: handle, when: on_failure, script: ["true"]}
          ship: {stage: ship, script: ["true"]}
        """
    )
    outcome, rec = project.run()
    assert outcome.state is RunState.SUCCESS
    assert rec.final()["alert"] is JobState.SKIPPED
    assert rec.final()["ship"] is JobState.SUCCESS


def test_if_expression_over_params_skips_and_runs(project: Project) -> None:
    project.write(
        """
        version: 1
        name: cond
        params: {target: staging}
        jobs:
          prod: {script: ["touch prod"], if: "params.target == 'prod'"}
          staging: {script: ["touch staging"], if: "params.target != 'prod'"}
        """
    )
    outcome, rec = project.run()
    assert outcome.state is RunState.SUCCESS
    assert rec.final() == {"prod": JobState.SKIPPED, "staging": JobState.SUCCESS}
    assert (project.path / "staging").exists() and not (project.path / "prod").exists()
    project.run(params={"target": "prod"})
    assert (project.path / "prod").exists()


def test_retries_count_and_a_later_attempt_can_succeed(project: Project) -> None:
    project.write(
        """
        version: 1
        name: retry
        jobs:
          flaky:
            script: ["echo x >> tries", "test $(wc -l < tries) -ge 3"]
            retry: {max: 3, delay: 0.1}
          hopeless:
            script: ["exit 7"]
            retry: 2
        """
    )
    outcome, rec = project.run()
    assert outcome.state is RunState.FAILED
    jobs = {j.job.name: j for j in project.detail().jobs}
    assert jobs["flaky"].job.state == "success" and jobs["flaky"].job.attempts == 3
    assert [a.state for a in jobs["flaky"].attempts] == ["failed", "failed", "success"]
    assert jobs["hopeless"].job.attempts == 3 and jobs["hopeless"].job.exit_code == 7
    assert rec.states("hopeless").count(JobState.RUNNING) == 3


def test_timeout_fails_the_job_with_a_reason(project: Project) -> None:
    project.write(
        """
        version: 1
        name: slow
        jobs:
          slow: {script: ["sleep 30"], timeout: 0.5}
        """
    )
    start = time.monotonic()
    outcome, _ = project.run()
    assert time.monotonic() - start < 10
    assert outcome.state is RunState.FAILED
    job = project.detail().jobs[0].job
    assert job.state == "failed" and "timed out" in (job.reason or "")


def test_declared_output_not_produced_fails_the_job(project: Project) -> None:
    project.write(
        """
        version: 1
        name: missing
        jobs:
          lazy:
            script: ["echo nothing"]
            outputs: {model: {path: out/model.pkl, type: model/pickle}}
        """
    )
    outcome, _ = project.run()
    assert outcome.state is RunState.FAILED
    reason = project.detail().jobs[0].job.reason or ""
    assert "declared output 'model' (out/model.pkl) was not produced" in reason


def test_metrics_are_stored_per_run(project: Project) -> None:
    project.write(
        """
        version: 1
        name: metrics
        jobs:
          score:
            script: ["echo '{\\"test\\": {\\"accuracy\\": 0.75}, \\"n\\": 3, \\"name\\": \\"x\\"}' > m.json"]
            metrics: m.json
        """
    )
    outcome, _ = project.run()
    assert outcome.state is RunState.SUCCESS
    metrics = {m.key: m.value for m in project.detail().metrics}
    assert metrics == {"test.accuracy": 0.75, "n": 3.0}


def test_env_params_and_variables_reach_the_job(project: Project) -> None:
    project.write(
        """
        version: 1
        name: env
        params: {lr: 0.1}
        variables: {STAGE_NAME: "lr-${{ params.lr }}"}
        jobs:
          show:
            env: {EXTRA: "${{ params.lr }}"}
            script: ['echo "$STAGE_NAME $EXTRA $REEFLINE_JOB $REEFLINE_RUN_ID" > env.txt']
        """
    )
    outcome, _ = project.run(params={"lr": "0.3"})
    assert outcome.state is RunState.SUCCESS
    assert (project.path / "env.txt").read_text().split() == ["lr-0.3", "0.3", "show", str(outcome.run_id)]
