"""``reefline reproduce`` on real laptop runs (the installed script, git where the test says so)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.gitrepo import git

REEFLINE = str(Path(sys.executable).with_name("reefline"))

SPEC = """\
version: 1
name: repro
params:
  scale: 2
jobs:
  double:
    script:
      - mkdir -p out
      - awk -v s=${{ params.scale }} '{print $1 * s}' data/numbers.txt > out/doubled.txt
    inputs:
      numbers: {path: data/numbers.txt, type: file}
    outputs:
      doubled: {path: out/doubled.txt, type: file}
  stamp:
    needs: [double]
    script:
      - mkdir -p out
      - date +%s%N > out/stamp.txt
    outputs:
      stamp: {path: out/stamp.txt, type: file}
"""


def reefline(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR", "FORCE_COLOR")}
    return subprocess.run(
        [REEFLINE, *args], cwd=project, capture_output=True, text=True, timeout=120, env=env, check=False
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "data").mkdir(parents=True)
    (root / "data" / "numbers.txt").write_text("1\n2\n3\n")
    (root / "reefline.yaml").write_text(SPEC)
    (root / ".gitignore").write_text("out/\n")
    return root


def reproduce_json(project: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    done = reefline(project, "reproduce", *args, "--plain", "--json")
    body = done.stdout[done.stdout.index("{\n") :]
    return done.returncode, json.loads(body), done.stdout + done.stderr


def by_output(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{o['job']}.{o['output']}": o for o in report["outputs"]}


def test_a_deterministic_output_is_identical_and_a_time_stamp_is_not(project: Path, tmp_path: Path) -> None:
    assert reefline(project, "run", "--plain", "-p", "scale=3").returncode == 0
    code, report, text = reproduce_json(project, "last", "--into", str(tmp_path / "again"))
    outputs = by_output(report)
    assert outputs["double.doubled"]["identical"], text
    assert not outputs["stamp.stamp"]["identical"]
    assert code == 1 and report["identical"] is False
    again = tmp_path / "again"
    assert (again / "out" / "doubled.txt").read_text() == "3\n6\n9\n", "the recorded param was used"
    assert report["directory"] == str(again)
    history = reefline(again, "runs")
    assert history.returncode == 0 and "reproduce" in history.stdout, "the reproduction has its own history"


def test_every_output_identical_exits_0_and_says_so(project: Path) -> None:
    spec = SPEC[: SPEC.index("  stamp:")]
    (project / "reefline.yaml").write_text(spec)
    assert reefline(project, "run", "--plain").returncode == 0
    done = reefline(project, "reproduce", "last", "--plain")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 of 1 outputs byte-identical" in done.stdout
    assert "double.doubled" in done.stdout and "identical" in done.stdout


def test_an_input_changed_since_comes_back_from_the_runs_git_commit(project: Path) -> None:
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "numbers")
    assert reefline(project, "run", "--plain").returncode == 0
    (project / "data" / "numbers.txt").write_text("10\n20\n")
    code, report, text = reproduce_json(project, "last")
    inputs = {c["path"]: c for c in report["inputs"]}
    assert inputs["data/numbers.txt"]["source"] == "git"
    assert by_output(report)["double.doubled"]["identical"], text
    assert "came from git commit" in text
    assert (project / "data" / "numbers.txt").read_text() == "10\n20\n", "the workspace is not touched"
    assert code == 1  # the time stamp differs


def test_an_input_found_nowhere_is_reported_and_the_output_differs(project: Path) -> None:
    assert reefline(project, "run", "--plain").returncode == 0
    (project / "data" / "numbers.txt").write_text("7\n")
    code, report, _ = reproduce_json(project, "last")
    check = {c["path"]: c for c in report["inputs"]}["data/numbers.txt"]
    assert check["source"] is None
    assert "neither the workspace" in check["note"]
    assert not by_output(report)["double.doubled"]["identical"]
    assert code == 1
    said = reefline(project, "reproduce", "last", "--plain").stdout
    assert "input data/numbers.txt: the run read sha256:" in said
    assert "some inputs could not be put back as they were" in said


def test_a_directory_that_is_not_empty_is_refused_before_anything_runs(project: Path, tmp_path: Path) -> None:
    assert reefline(project, "run", "--plain").returncode == 0
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    done = reefline(project, "reproduce", "last", "--into", str(busy))
    assert done.returncode == 2
    assert "not an empty directory" in done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in busy.iterdir()) == ["keep.txt"]


def test_a_directory_that_cannot_be_made_is_an_error_naming_it(project: Path, tmp_path: Path) -> None:
    assert reefline(project, "run", "--plain").returncode == 0
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    done = reefline(project, "reproduce", "last", "--into", str(blocker / "again"))
    assert done.returncode == 2, done.stderr
    expected = f"error: cannot create {blocker / 'again'} for the reproduction"
    assert done.stderr.startswith(expected), done.stderr


def test_an_unknown_run_is_a_usage_error(project: Path) -> None:
    assert reefline(project, "run", "--plain").returncode == 0
    done = reefline(project, "reproduce", "99")
    assert done.returncode == 2
    assert "99" in done.stderr and "Traceback" not in done.stderr
