"""services/gc.py on real laptop runs recorded in SQLite and PostgreSQL, over both store kinds."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from reefline.artifacts.base import ArtifactStore
from reefline.artifacts.hashing import Hasher
from reefline.artifacts.locate import open_artifact_store
from reefline.engine.states import RunState
from reefline.services import gc
from reefline.services.types import Invalid
from reefline.store import repo
from reefline.store.db import open_database

REEFLINE = str(Path(sys.executable).with_name("reefline"))

SPEC = """\
version: 1
name: {name}
params:
  lr: 0.1
jobs:
  train:
    script:
      - mkdir -p out/{name}/model
      - echo "{name} lr=${{{{ params.lr }}}}" > out/{name}/model.txt
      - echo "weights {name} ${{{{ params.lr }}}}" > out/{name}/model/w.bin
    outputs:
      model:
        path: out/{name}/model.txt
        type: file
      weights:
        path: out/{name}/model
        type: directory
"""


class Project:
    def __init__(self, root: Path, database_url: str, artifacts: str) -> None:
        self.root = root
        self.env = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR", "FORCE_COLOR")}
        self.env |= {"REEFLINE_DATABASE_URL": database_url, "REEFLINE_ARTIFACTS_URL": artifacts}
        self.store: ArtifactStore = open_artifact_store(artifacts if "://" in artifacts else root / artifacts)

    def run(self, name: str, lr: str) -> None:
        spec = self.root / f"{name}.yaml"
        spec.write_text(SPEC.format(name=name))
        result = subprocess.run(
            [REEFLINE, "run", str(spec), "--plain", "-p", f"lr={lr}"],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr

    def digest(self, relpath: str) -> str:
        return Hasher(self.root).digest(relpath).sha256

    def stored(self) -> set[str]:
        return {o.sha256 for o in self.store.list_stored()}


@pytest.fixture(params=["local", "fsspec-file"])
def project(request: pytest.FixtureRequest, tmp_path: Path, store_url: str) -> Project:
    root = tmp_path / "project"
    root.mkdir()
    artifacts = (tmp_path / "store").as_uri() if request.param == "fsspec-file" else "store"
    return Project(root, store_url, artifacts)


@pytest.fixture
def db(project: Project, store_url: str) -> Iterator[sa.Engine]:
    engine = open_database(store_url)
    yield engine
    engine.dispose()


def _what(project: Project, name: str) -> set[str]:
    """The digests a run of pipeline ``name`` leaves in the store (its outputs and the directory's file)."""
    return {
        project.digest(f"out/{name}/model.txt"),
        project.digest(f"out/{name}/model"),
        project.digest(f"out/{name}/model/w.bin"),
    }


def test_gc_keeps_the_newest_runs_of_each_pipeline_and_frees_the_rest(
    project: Project, db: sa.Engine
) -> None:
    project.run("alpha", "0.1")
    old_alpha = _what(project, "alpha")
    project.run("alpha", "0.2")
    new_alpha = _what(project, "alpha")
    project.run("beta", "0.1")
    old_beta = _what(project, "beta")
    project.run("beta", "0.2")
    new_beta = _what(project, "beta")
    everything = project.stored()
    assert everything == old_alpha | new_alpha | old_beta | new_beta
    sizes = {o.sha256: o.size for o in project.store.list_stored()}

    with db.connect() as conn:
        report = gc.collect(conn, project.store, keep_last=1)

    assert report.kept_runs == [4, 2]
    assert project.stored() == new_alpha | new_beta
    assert {o.sha256 for o in report.removed} == old_alpha | old_beta
    assert report.bytes_freed == sum(sizes[s] for s in old_alpha | old_beta)
    with db.connect() as conn:
        again = gc.collect(conn, project.store, keep_last=1)
    assert again.removed == []
    assert {o.sha256 for o in again.kept} == new_alpha | new_beta


def test_a_dry_run_deletes_nothing_and_lists_what_would_go(project: Project, db: sa.Engine) -> None:
    project.run("alpha", "0.1")
    old = _what(project, "alpha")
    project.run("alpha", "0.2")
    before = project.stored()
    with db.connect() as conn:
        dry = gc.collect(conn, project.store, keep_last=1, dry_run=True)
    assert project.stored() == before
    assert {o.sha256 for o in dry.removed} == old
    assert dry.dry_run and dry.bytes_freed > 0
    with db.connect() as conn:
        assert {o.sha256 for o in gc.collect(conn, project.store, keep_last=2).removed} == set()
        assert {o.sha256 for o in gc.collect(conn, project.store, keep_last=0).removed} == before


def test_an_unfinished_run_keeps_what_it_references_and_what_was_stored_since(
    project: Project, db: sa.Engine
) -> None:
    project.run("alpha", "0.1")
    first_model = project.digest("out/alpha/model.txt")
    project.run("alpha", "0.2")
    second_weights = project.digest("out/alpha/model")
    project.run("alpha", "0.3")
    with db.begin() as conn:
        pipeline_id = repo.get_or_create_pipeline(
            conn, "alpha", str(project.root / "alpha.yaml"), time.time()
        )
        queued = repo.create_run(
            conn,
            pipeline_id=pipeline_id,
            spec_text="",
            spec_path=str(project.root / "alpha.yaml"),
            spec_hash="0" * 64,
            params={},
            workspace=str(project.root),
            options={},
            trigger="api",
            owner_host=None,
            owner_pid=None,
            now=time.time(),
            state=RunState.QUEUED,
        )
        job_id = repo.create_jobs(
            conn,
            queued,
            [
                {
                    "name": "use",
                    "job": "use",
                    "stage": "s",
                    "position": 0,
                    "matrix": {},
                    "needs": [],
                    "state": "pending",
                    "allow_failure": False,
                }
            ],
        )["use"]
        repo.insert_inputs(
            conn, job_id, [{"name": "m", "path": "in.txt", "type": "file", "sha256": first_model, "size": 1}]
        )
    (project.root / "late.txt").write_text("saved by a job whose run has not recorded it yet\n")
    late = project.digest("late.txt")
    project.store.save(Hasher(project.root), "late.txt", late)

    with db.connect() as conn:
        report = gc.collect(conn, project.store, keep_last=1)
    assert report.kept_runs == [4, 3]
    assert first_model in project.stored()  # the queued run's input
    assert late in project.stored()  # stored after the unfinished run was created
    assert second_weights not in project.stored()

    with db.begin() as conn:
        repo.update_run(conn, queued, state="canceled", finished_at=time.time())
    with db.connect() as conn:
        after = gc.collect(conn, project.store, keep_last=1)
    assert after.kept_runs == [4]  # finished now, and the newest
    assert project.stored() == {first_model}  # late.txt: nothing references it, no run is unfinished


def test_keep_last_must_not_be_negative(db: sa.Engine, project: Project) -> None:
    with db.connect() as conn, pytest.raises(Invalid, match="0 or more"):
        gc.collect(conn, project.store, keep_last=-1)
