"""End to end: real ``reefline run``s of two pipelines in a git repository, then ``reefline trace``."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from reefline.lineage.provenance import git_provenance
from tests.gitrepo import git

REEFLINE = str(Path(sys.executable).with_name("reefline"))

ALPHA = """\
version: 1
name: alpha
params:
  scale: {type: int, default: 2}
stages: [prep, train]
jobs:
  prep:
    stage: prep
    script:
      - mkdir -p out && cat data/raw.csv data/raw.csv > out/features.csv
    inputs:
      raw: {path: data/raw.csv, type: file}
    outputs:
      features: {path: out/features.csv, type: file}
  train:
    stage: train
    matrix:
      model: [tree]
    script:
      - mkdir -p out && (cat out/features.csv; echo ${{ matrix.model }} ${{ params.scale }}) > out/model.txt
    inputs:
      features: {from: prep.features}
    outputs:
      model: {path: out/model.txt, type: model/pickle}
"""

BETA = """\
version: 1
name: beta
jobs:
  report:
    script:
      - (echo report; cat out/model.txt) > out/report.md
    inputs:
      model: {path: out/model.txt, type: model/pickle}
    outputs:
      report: {path: out/report.md, type: file}
"""


def reefline(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [REEFLINE, *args], cwd=project, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "raw.csv").write_text("a,b\n1,2\n")
    (tmp_path / "reefline.yaml").write_text(ALPHA)
    (tmp_path / "report.reefline.yaml").write_text(BETA)
    git(tmp_path, "init", "-q", ".")
    git(tmp_path, "add", "reefline.yaml", "report.reefline.yaml", "data/raw.csv")
    git(tmp_path, "commit", "-qm", "init")
    for spec in ("reefline.yaml", "reefline.yaml", "report.reefline.yaml"):  # run 2 is all cached
        done = reefline(tmp_path, "run", spec)
        assert done.returncode == 0, done.stderr
    return tmp_path


def test_trace_a_report_back_through_the_other_pipeline_to_the_raw_data(project: Path) -> None:
    commit = git(project, "rev-parse", "HEAD")
    done = reefline(project, "trace", "out/report.md")
    assert done.returncode == 0, done.stderr
    heads = [line for line in done.stdout.splitlines() if line.startswith("#")]
    assert [line.split()[:4] for line in heads] == [
        ["#0", "report", "run", "3"],
        ["#1", "train[model=tree]", "run", "1"],
        ["#2", "prep", "run", "1"],
    ]
    assert all(f"commit {commit[:7]}" in line for line in heads)
    assert "← #1" in done.stdout and "← #2" in done.stdout
    assert "raw      = data/raw.csv" in done.stdout and "(source: no recorded job made it)" in done.stdout

    payload = json.loads(reefline(project, "trace", "out/report.md", "--json").stdout)
    assert [
        (f["job"], f["pipeline"], f["commit"], f["branch"] is not None, f["dirty"]) for f in payload["frames"]
    ] == [
        ("report", "beta", commit, True, False),
        ("train[model=tree]", "alpha", commit, True, False),
        ("prep", "alpha", commit, True, False),
    ]
    assert payload["frames"][1]["params"] == {"scale": 2, "model": "tree"}


def test_frames_show_the_script_hash_and_where_each_output_is_kept(project: Path) -> None:
    script = "(echo report; cat out/model.txt) > out/report.md"
    script_sha = hashlib.sha256(script.encode()).hexdigest()
    done = reefline(project, "trace", "out/report.md")
    assert done.returncode == 0, done.stderr
    head = done.stdout.splitlines()[0]
    assert head.startswith("#0  report") and f"script {script_sha[:8]}" in head
    [out_line] = [line for line in done.stdout.splitlines() if line.lstrip().startswith("out report")]
    kept = (project / ".reefline" / "artifacts").resolve().as_uri()
    assert f" {kept}/" in out_line

    payload = json.loads(reefline(project, "trace", "out/report.md", "--json").stdout)
    assert payload["frames"][0]["code"] == {"script_sha256": script_sha}
    [output] = payload["frames"][0]["outputs"]
    path = Path(unquote(urlparse(output["uri"]).path))
    assert path.read_bytes() == (project / "out" / "report.md").read_bytes()
    # a cached frame shows the code of the attempt whose outputs it reused
    cached = json.loads(reefline(project, "trace", "2:train[model=tree].model", "--json").stdout)
    original = json.loads(reefline(project, "trace", "1:train[model=tree].model", "--json").stdout)
    assert cached["frames"][0]["cached_from_run"] == 1
    assert cached["frames"][0]["code"] == original["frames"][0]["code"] is not None


def test_trace_a_cached_output_of_a_run_and_stop_at_depth(project: Path) -> None:
    done = reefline(project, "trace", "2:train[model=tree].model", "--depth", "0")
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith("#0  train[model=tree]   run 2") and first.endswith("(cached from run 1)")
    assert "(more frames beyond --depth)" in done.stdout


def test_forward_and_stale_after_the_definition_changes(project: Path) -> None:
    forward = reefline(project, "trace", "data/raw.csv", "--forward", "--json")
    assert forward.returncode == 0, forward.stderr
    assert [(f["job"], f["run_id"]) for f in json.loads(forward.stdout)["frames"]] == [
        ("prep", 1),
        ("prep", 2),
        ("train[model=tree]", 1),
        ("train[model=tree]", 2),
        ("report", 3),
    ]
    spec = project / "reefline.yaml"
    spec.write_text(spec.read_text().replace("> out/model.txt", "> out/model.txt; echo v2 >> out/model.txt"))
    assert reefline(project, "run").returncode == 0
    done = reefline(project, "trace", "1:train[model=tree].model")
    heads = [line for line in done.stdout.splitlines() if line.startswith("#")]
    assert heads[0].endswith("STALE") and not heads[1].endswith("STALE")
    assert (
        "stale: the definition of train[model=tree] changed since (run 4 runs a different one)" in done.stdout
    )
    assert "+dirty" in reefline(project, "trace", "4:train[model=tree].model").stdout  # the spec is modified


def test_errors_say_what_is_wrong_and_exit_2(project: Path) -> None:
    cases = {
        ("data/raw.csv",): "no recorded job produced these bytes",
        ("nothing.txt",): "not a file in the workspace",
        ("000000",): "no recorded artifact has a sha256 starting with 000000",
        ("9:prep.features",): "run 9 does not exist",
        ("out/report.md", "--forward"): "no recorded job read these bytes",
    }
    for args, message in cases.items():
        done = reefline(project, "trace", *args)
        assert (done.returncode, done.stdout) == (2, ""), args
        assert done.stderr.startswith("error: ") and message in done.stderr, done.stderr


def test_git_provenance_of_a_workspace(tmp_path: Path) -> None:
    assert git_provenance(tmp_path) is None  # not a repository
    git(tmp_path, "init", "-q", "-b", "trunk", ".")
    assert git_provenance(tmp_path) is None  # no commit yet
    (tmp_path / "a.txt").write_text("one")
    git(tmp_path, "add", "a.txt")
    git(tmp_path, "commit", "-qm", "one")
    clean = git_provenance(tmp_path)
    assert clean is not None and (clean.commit, clean.branch, clean.dirty) == (
        git(tmp_path, "rev-parse", "HEAD"),
        "trunk",
        False,
    )
    (tmp_path / "untracked.out").write_text("an output")  # outputs are not edits of the code
    assert git_provenance(tmp_path) == clean
    (tmp_path / "a.txt").write_text("two")
    dirty = git_provenance(tmp_path)
    assert dirty is not None and dirty.dirty is True
