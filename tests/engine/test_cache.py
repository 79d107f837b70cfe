"""Caching: unchanged inputs skip work; a change re-runs exactly what is downstream of it."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from reefline.engine.states import JobState, RunState

if TYPE_CHECKING:
    from tests.engine.support import Project

CHAIN = """
version: 1
name: chain
jobs:
  prepare:
    script: ["cp raw.txt clean.txt"]
    inputs: {raw: {path: raw.txt}}
    outputs: {clean: {path: clean.txt, type: text}}
  train:
    script: ["cat ${{ inputs.data.path }} > model.txt; echo trained >> model.txt"]
    inputs: {data: {from: prepare.clean}}
    outputs: {model: {path: model.txt}}
  other:
    script: ["cp side.txt side.out"]
    inputs: {side: {path: side.txt}}
    outputs: {out: {path: side.out}}
  report:
    needs: [train]
    script: ["wc -l model.txt > report.txt"]
    outputs: {report: {path: report.txt}}
  check:
    needs: [report]
    script: ["true"]
"""


def _setup(project: Project) -> None:
    project.write(CHAIN)
    (project.path / "raw.txt").write_text("a\nb\n")
    (project.path / "side.txt").write_text("side\n")


def test_second_run_is_cached_except_jobs_without_outputs(project: Project) -> None:
    _setup(project)
    first, rec1 = project.run()
    assert first.state is RunState.SUCCESS
    assert set(rec1.final().values()) == {JobState.SUCCESS}
    second, rec2 = project.run()
    assert second.state is RunState.SUCCESS
    assert rec2.final() == {
        "prepare": JobState.CACHED,
        "train": JobState.CACHED,
        "other": JobState.CACHED,
        "report": JobState.CACHED,
        "check": JobState.SUCCESS,  # no outputs: it exists for its effect and always runs
    }
    cached = {j.job.name: j for j in project.detail().jobs}["train"]
    assert cached.job.cached_from_job_id is not None
    assert [o.path for o in cached.outputs] == ["model.txt"]


def test_editing_one_input_reruns_exactly_what_is_downstream(project: Project) -> None:
    _setup(project)
    project.run()
    (project.path / "raw.txt").write_text("a\nb\nc\n")
    _, rec = project.run()
    final = rec.final()
    assert final["other"] is JobState.CACHED
    assert final["prepare"] is JobState.SUCCESS
    assert final["train"] is JobState.SUCCESS
    # report declares no input; it re-runs because the job it needs produced a different output
    assert final["report"] is JobState.SUCCESS
    assert "4 model.txt" in (project.path / "report.txt").read_text()


def test_an_edit_that_does_not_change_an_output_stops_the_cascade(project: Project) -> None:
    _setup(project)
    project.write(CHAIN.replace("cp raw.txt clean.txt", "sort -u raw.txt > clean.txt"))
    project.run()
    (project.path / "raw.txt").write_text("b\na\na\n")  # same sorted unique content
    _, rec = project.run()
    assert rec.final()["prepare"] is JobState.SUCCESS
    assert rec.final()["train"] is JobState.CACHED


def test_deleted_or_modified_outputs_are_restored_from_the_artifact_store(project: Project) -> None:
    _setup(project)
    project.run()
    (project.path / "side.out").unlink()
    (project.path / "model.txt").write_text("tampered\n")
    _, rec = project.run()
    assert rec.final()["other"] is JobState.CACHED
    assert rec.final()["train"] is JobState.CACHED
    assert (project.path / "side.out").read_text() == "side\n"
    assert (project.path / "model.txt").read_text() == "a\nb\ntrained\n"
    reasons = {j.job.name: j.job.reason for j in project.detail().jobs}
    assert "restored from the artifact store" in (reasons["other"] or "")


def test_outputs_missing_from_workspace_and_store_are_rebuilt(project: Project) -> None:
    _setup(project)
    project.run()
    shutil.rmtree(project.path / ".reefline" / "artifacts")
    (project.path / "side.out").unlink()
    _, rec = project.run()
    assert rec.final()["other"] is JobState.SUCCESS
    assert rec.final()["prepare"] is JobState.CACHED
    assert (project.path / "side.out").read_text() == "side\n"


def test_switching_params_back_restores_instead_of_recomputing(project: Project) -> None:
    project.write(
        """
        version: 1
        name: sweep
        params: {n: 1}
        jobs:
          make:
            script: ["mkdir -p out && echo ${{ params.n }} > out/value.txt && date +%s%N >> runs.log"]
            outputs: {out: {path: out, type: directory}}
        """
    )
    project.run()
    project.run(params={"n": "2"})
    _, rec = project.run()
    assert rec.final()["make"] is JobState.CACHED
    assert (project.path / "out" / "value.txt").read_text() == "1\n"
    assert len((project.path / "runs.log").read_text().splitlines()) == 2


def test_no_cache_runs_everything_and_cache_false_opts_out(project: Project) -> None:
    _setup(project)
    project.run()
    _, rec = project.run(no_cache=True)
    assert JobState.CACHED not in rec.final().values()
    project.write(
        CHAIN.replace(
            "    outputs: {out: {path: side.out}}", "    outputs: {out: {path: side.out}}\n    cache: false"
        )
    )
    project.run()
    _, rec = project.run()
    assert rec.final()["other"] is JobState.SUCCESS
    assert rec.final()["prepare"] is JobState.CACHED


def test_changing_the_script_reruns_the_job(project: Project) -> None:
    _setup(project)
    project.run()
    project.write(CHAIN.replace("echo trained", "echo retrained"))
    _, rec = project.run()
    assert rec.final()["prepare"] is JobState.CACHED
    assert rec.final()["train"] is JobState.SUCCESS


def test_missing_input_fails_with_the_producer_named(project: Project) -> None:
    _setup(project)
    outcome, _ = project.run(only=("train",))
    assert outcome.state is RunState.FAILED
    reason = project.detail().jobs[0].job.reason or ""
    assert "clean.txt" in reason and "prepare" in reason


def test_symlink_out_of_the_workspace_made_at_run_time_fails_the_job(
    project: Project, tmp_path_factory
) -> None:  # type: ignore[no-untyped-def]
    outside = tmp_path_factory.mktemp("outside") / "secret.txt"
    outside.write_text("secret")
    project.write(
        f"""
        version: 1
        name: escape
        jobs:
          sneaky:
            script: ["ln -s {outside} leak.txt"]
            outputs: {{leak: {{path: leak.txt}}}}
        """
    )
    outcome, _ = project.run()
    assert outcome.state is RunState.FAILED
    assert "outside the workspace" in (project.detail().jobs[0].job.reason or "")


def test_dry_run_says_what_would_be_cached_and_runs_nothing(project: Project) -> None:
    from reefline.services.queries import list_runs
    from reefline.services.runs import plan_run
    from reefline.services.types import RunOptions

    _setup(project)
    project.run()
    (project.path / "raw.txt").write_text("changed\n")
    planned = {p.name: p.status for p in plan_run(project.path / "reefline.yaml", RunOptions())}
    assert planned == {
        "prepare": "would run",  # its input changed
        "train": "would run",  # upstream re-runs: its input may change
        "other": "cached",
        "report": "would run",
        "check": "would run",  # no outputs: always runs
    }
    assert len(list_runs(project.path)) == 1
    assert (project.path / "clean.txt").read_text() == "a\nb\n"


def _python_project(project: Project) -> None:
    project.write(
        """
        version: 1
        name: imports
        jobs:
          make:
            run: steps.make:main
            outputs: {out: {path: out.txt}}
        """
    )
    steps = project.path / "steps"
    (steps / "helpers").mkdir(parents=True)
    (steps / "__init__.py").write_text("")
    (steps / "make.py").write_text(
        "from steps.helpers import fmt\n\n"
        "def main(outputs):\n"
        "    open(outputs['out'], 'w').write(fmt.render())\n"
    )
    (steps / "helpers" / "__init__.py").write_text("")
    (steps / "helpers" / "fmt.py").write_text("from .deep import WORD\n\ndef render():\n    return WORD\n")
    (steps / "helpers" / "deep.py").write_text("WORD = 'one'\n")


def test_a_run_job_reruns_when_a_helper_two_imports_deep_changes(project: Project) -> None:
    _python_project(project)
    assert project.run()[0].state is RunState.SUCCESS
    assert project.run()[1].final() == {"make": JobState.CACHED}
    (project.path / "steps" / "helpers" / "deep.py").write_text("WORD = 'two'\n")
    outcome, rec = project.run()
    assert outcome.state is RunState.SUCCESS
    assert rec.final() == {"make": JobState.SUCCESS}
    assert (project.path / "out.txt").read_text() == "two"


def test_cached_reason_says_what_the_key_tracks(project: Project) -> None:
    _python_project(project)
    project.run()
    project.run()
    job = project.detail().jobs[0].job
    assert job.state == "cached"
    assert (job.reason or "").startswith("declared inputs, env and code unchanged")
