"""The lineage issue's acceptance on the shipped iris example, in a git repository as a user keeps it:
``reefline trace out/report.md`` explains every step back to the split of the raw dataset with
hashes, params and commits, and ``reefline reproduce`` of the run says every output is identical."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.clean_env import without_reefline_settings
from tests.gitrepo import git

REEFLINE = str(Path(sys.executable).with_name("reefline"))
IRIS = Path(__file__).resolve().parents[2] / "examples" / "iris"


def _env() -> dict[str, str]:
    env = without_reefline_settings()
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # `python` with reefline
    return env


def reefline(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [REEFLINE, *args], cwd=project, capture_output=True, text=True, timeout=300, check=False, env=_env()
    )


@pytest.fixture(scope="module")
def iris(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("lineage") / "iris"
    shutil.copytree(IRIS, project, ignore=shutil.ignore_patterns(".reefline", "out", "__pycache__"))
    (project / ".gitignore").write_text(".reefline/\nout/\n__pycache__/\n")
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "iris")
    ran = reefline(project, "run", "--plain")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return project


def trace(project: Path, target: str) -> dict[str, Any]:
    done = reefline(project, "trace", target, "--json")
    assert done.returncode == 0, done.stderr
    payload: dict[str, Any] = json.loads(done.stdout)
    return payload


def test_the_report_traces_every_step_back_to_the_dataset_split(iris: Path) -> None:
    commit = git(iris, "rev-parse", "HEAD")
    frames = trace(iris, "out/report.md")["frames"]
    jobs = [f["job"] for f in frames]
    assert jobs[0] == "report" and jobs[-1] == "prepare", jobs
    assert {"evaluate[model=tree]", "evaluate[model=logreg]", "featurize"} <= set(jobs), jobs
    assert any(job.startswith("train[") for job in jobs), jobs
    assert all(f["commit"] == commit and f["dirty"] is False for f in frames)
    by_job = {f["job"]: f for f in frames}
    assert by_job["evaluate[model=tree]"]["params"]["model"] == "tree"
    assert by_job["prepare"]["code"].keys() == {"script_sha256"}
    assert by_job["featurize"]["code"]["entry"] == "steps.featurize:main"
    assert "steps/table.py" in by_job["featurize"]["code"]["modules"], "the helper it imports is recorded"
    # every input made by a frame is linked to the frame that made exactly those bytes
    numbered = {f["number"]: f for f in frames}
    for frame in frames[:-1]:
        linked = [entry for entry in frame["inputs"] if entry["frame"] is not None]
        assert linked, f"{frame['job']} has no input made by another frame"
        for entry in linked:
            made = {o["sha256"] for o in numbered[entry["frame"]]["outputs"]}
            assert entry["sha256"] in made, (frame["job"], entry)
    assert all(entry["frame"] is None for entry in frames[-1]["inputs"]), "prepare reads no recorded output"

    shown = reefline(iris, "trace", "out/report.md")
    assert shown.returncode == 0, shown.stderr
    heads = [line for line in shown.stdout.splitlines() if line.startswith("#")]
    assert len(heads) == len(frames) and all(f"commit {commit[:7]}" in line for line in heads)
    assert "sha256:" in shown.stdout and "← #1" in shown.stdout


def test_reproducing_the_run_finds_every_output_identical(iris: Path, tmp_path: Path) -> None:
    done = reefline(iris, "reproduce", "last", "--plain", "--json", "--into", str(tmp_path / "again"))
    body = done.stdout[done.stdout.index("{\n") :]
    report = json.loads(body)
    assert done.returncode == 0, done.stdout + done.stderr
    assert report["identical"] is True
    names = {f"{o['job']}.{o['output']}" for o in report["outputs"]}
    assert {"report.report", "prepare.train", "prepare.test"} <= names, names
    assert all(o["identical"] for o in report["outputs"])
