"""``decide`` and ``fold_stage`` are pure: what happens to a step once what it waits for is done."""

from __future__ import annotations

from reefline.engine.decide import StageOutcome, Upstream, decide, fold_stage, saw_failure
from reefline.engine.states import JobState
from reefline.plan.ir import ShellCommand, Step, When

OK = Upstream(JobState.SUCCESS, allow_failure=False, failure_seen=False)
FAILED = Upstream(JobState.FAILED, allow_failure=False, failure_seen=False)
ALLOWED = Upstream(JobState.FAILED, allow_failure=True, failure_seen=False)
SKIPPED = Upstream(JobState.SKIPPED, allow_failure=False, failure_seen=False)
IDLE_HANDLER = Upstream(JobState.SKIPPED, allow_failure=False, failure_seen=False, when=When.ON_FAILURE)
CANCELED = Upstream(JobState.CANCELED, allow_failure=False, failure_seen=False)
SAW = Upstream(JobState.SUCCESS, allow_failure=False, failure_seen=True)  # ran `always` after a failure


def step(when: When = When.ON_SUCCESS, skip: str | None = None) -> Step:
    return Step("s", "s", "st", ShellCommand(("true",)), (), (), when=when, skip_reason=skip)


def test_a_stage_folds_into_its_first_blocker_and_whether_anything_failed() -> None:
    stage = fold_stage(None, [("a", OK), ("b", SKIPPED), ("c", FAILED)])
    assert stage.failure_seen
    assert stage.blocker == ("b", SKIPPED)
    assert decide(step(), {}, stage).reason == "upstream job 'b' was skipped"


def test_a_later_barrier_keeps_what_the_one_before_it_saw() -> None:
    first = fold_stage(None, [("build", FAILED)])
    second = fold_stage(first, [("lint", OK)])
    assert second.failure_seen and second.blocker == ("build", FAILED)
    assert decide(step(When.ON_FAILURE), {}, second).run
    assert decide(step(), {}, second).reason == "upstream job 'build' failed"


def test_allowed_failures_and_idle_handlers_hold_nothing_back() -> None:
    stage = fold_stage(None, [("flaky", ALLOWED), ("alert", IDLE_HANDLER), ("ok", OK)])
    assert stage == StageOutcome(failure_seen=False, blocker=None)
    assert decide(step(), {}, stage).run
    assert decide(step(When.ON_FAILURE), {}, stage) == decide(step(When.ON_FAILURE), {})
    assert not decide(step(When.ON_FAILURE), {}, stage).run


def test_a_failure_seen_upstream_of_a_member_reaches_handlers_through_the_barrier() -> None:
    stage = fold_stage(None, [("report", SAW)])
    assert stage.failure_seen and stage.blocker is None
    assert decide(step(When.ON_FAILURE), {}, stage).run
    assert decide(step(), {}, stage).run  # `report` itself succeeded


def test_explicit_needs_and_the_barrier_are_both_judged() -> None:
    clean = fold_stage(None, [("a", OK)])
    assert decide(step(), {"x": CANCELED}, clean).reason == "upstream job 'x' was canceled"
    assert saw_failure({"x": OK}, fold_stage(None, [("a", FAILED)]))
    assert not saw_failure({"x": OK}, clean)


def test_always_runs_and_if_false_skips_whatever_the_barrier_says() -> None:
    broken = fold_stage(None, [("a", FAILED)])
    assert decide(step(When.ALWAYS), {}, broken).run
    assert decide(step(skip="if: false"), {}, fold_stage(None, [])).reason == "if: false"
