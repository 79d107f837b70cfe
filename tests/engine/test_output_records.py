"""Output records: every declared output is kept (also of a ``cache: false`` job), per attempt, with
its artifact URI and time; each attempt records the code it ran (script hash, module hashes)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from reefline.engine.states import JobState, RunState
from reefline.services.checkout import checkout_in_project
from reefline.services.gc import gc_in_project
from reefline.services.project import open_existing_db
from reefline.services.types import JobDetail
from reefline.store.tables import outputs

if TYPE_CHECKING:
    from tests.engine.support import Project

UNCACHED = """
version: 1
name: uncached
jobs:
  stamp:
    cache: false
    script: ["date +%s%N > stamp.txt"]
    outputs: {stamp: {path: stamp.txt}}
"""

FLAKY = """
version: 1
name: flaky
jobs:
  make:
    retry: {max: 2}
    script:
      - "if [ ! -f tried ]; then touch tried; exit 3; fi"
      - "echo made > out.txt"
    outputs: {out: {path: out.txt}}
"""


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _job(project: Project, name: str, ref: str = "last") -> JobDetail:
    return {j.job.name: j for j in project.detail(ref).jobs}[name]


def _file_of(uri: str) -> Path:
    parsed = urlparse(uri)
    assert parsed.scheme == "file", uri
    return Path(unquote(parsed.path))


def test_a_cache_false_output_is_kept_and_checked_out_after_it_was_deleted(project: Project) -> None:
    project.write(UNCACHED)
    outcome, _ = project.run()
    assert outcome.state is RunState.SUCCESS
    made = (project.path / "stamp.txt").read_text()
    [output] = _job(project, "stamp").outputs
    assert output.uri is not None and _file_of(output.uri).read_text() == made
    assert output.attempt == 1 and output.recorded_at is not None

    (project.path / "stamp.txt").unlink()
    report = checkout_in_project(project.path, str(outcome.run_id))
    assert [item.path for item in report.restored] == ["stamp.txt"]
    assert (project.path / "stamp.txt").read_text() == made

    # keeping is not caching: the next run runs it again
    _, rec = project.run()
    assert rec.final() == {"stamp": JobState.SUCCESS}


def test_gc_keeps_the_outputs_of_kept_runs_and_removes_the_others(project: Project) -> None:
    project.write(UNCACHED)
    first, _ = project.run()
    old = _job(project, "stamp", str(first.run_id))
    second, _ = project.run()
    new = _job(project, "stamp", str(second.run_id))
    assert old.outputs[0].sha256 != new.outputs[0].sha256

    report = gc_in_project(project.path, keep_last=1)
    assert [o.sha256 for o in report.removed] == [old.outputs[0].sha256]
    assert new.outputs[0].sha256 in {o.sha256 for o in report.kept}
    assert not _file_of(old.outputs[0].uri or "").exists()
    assert _file_of(new.outputs[0].uri or "").exists()


def test_a_retried_jobs_outputs_carry_the_attempt_that_made_them(project: Project) -> None:
    project.write(FLAKY)
    outcome, rec = project.run()
    assert outcome.state is RunState.SUCCESS
    job = _job(project, "make")
    assert [(a.number, a.state) for a in job.attempts] == [(1, "failed"), (2, "success")]
    assert [(o.name, o.attempt) for o in job.outputs] == [("out", 2)]

    # a cached job's rows name the attempt that really made the bytes (of the job it reused)
    _, rec = project.run()
    assert rec.final() == {"make": JobState.CACHED}
    cached = _job(project, "make")
    assert cached.job.cached_from_job_id == job.job.id
    assert [(o.attempt, o.sha256, o.uri) for o in cached.outputs] == [
        (2, job.outputs[0].sha256, job.outputs[0].uri)
    ]


def test_a_cached_job_names_where_the_store_keeps_an_output_whose_old_record_has_no_uri(
    project: Project,
) -> None:
    project.write(FLAKY)
    project.run()
    original = _job(project, "make")
    db = open_existing_db(project.path)
    try:
        with db.begin() as conn:  # as recorded before schema 0009: no uri
            cleared = conn.execute(
                outputs.update().where(outputs.c.job_id == original.job.id).values(uri=None)
            )
            assert cleared.rowcount == 1
    finally:
        db.dispose()
    _, rec = project.run()
    assert rec.final() == {"make": JobState.CACHED}
    [output] = _job(project, "make").outputs
    assert output.uri is not None and _file_of(output.uri).read_text() == "made\n"


def test_a_script_attempt_records_the_hash_of_its_rendered_script(project: Project) -> None:
    project.write(FLAKY)
    project.run()
    codes = [a.code for a in _job(project, "make").attempts]
    script = "if [ ! -f tried ]; then touch tried; exit 3; fi\necho made > out.txt"
    assert codes == [{"script_sha256": _sha(script)}] * 2


PYTHON = """
version: 1
name: imports
jobs:
  make:
    run: steps.make:main
    cache: false
    outputs: {out: {path: out.txt}}
"""


def test_a_run_attempt_records_its_module_hashes_and_a_helper_change_changes_them(project: Project) -> None:
    project.write(PYTHON)
    steps = project.path / "steps"
    steps.mkdir()
    files = {
        "steps/__init__.py": "",
        "steps/make.py": "from steps import helper\n\ndef main(outputs):\n"
        "    open(outputs['out'], 'w').write(helper.WORD)\n",
        "steps/helper.py": "WORD = 'one'\n",
    }
    for path, text in files.items():
        (project.path / path).write_text(text)
    assert project.run()[0].state is RunState.SUCCESS
    [first] = _job(project, "make").attempts
    assert first.code == {"entry": "steps.make:main", "modules": {p: _sha(t) for p, t in files.items()}}

    (steps / "helper.py").write_text("WORD = 'two'\n")
    assert project.run()[0].state is RunState.SUCCESS
    [second] = _job(project, "make").attempts
    assert second.code is not None and first.code is not None
    assert second.code["modules"]["steps/helper.py"] == _sha("WORD = 'two'\n")
    assert second.code["modules"]["steps/make.py"] == first.code["modules"]["steps/make.py"]
    assert (project.path / "out.txt").read_text() == "two"
