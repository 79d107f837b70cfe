"""``reefline compare``, ``metrics``, ``checkout`` and ``gc`` on real laptop runs (the installed script)."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REEFLINE = str(Path(sys.executable).with_name("reefline"))

SPEC = """\
version: 1
name: exp
params:
  lr: 0.1
  depth: 3
jobs:
  train:
    script:
      - mkdir -p out/model
      - echo "model lr=${{ params.lr }} depth=${{ params.depth }}" > out/model.txt
      - echo "weights ${{ params.lr }}" > out/model/weights.bin
      - >-
        echo "{\\"accuracy\\": ${{ params.lr }}, \\"loss\\": 1}" > out/metrics.json
    outputs:
      model:
        path: out/model.txt
        type: file
      weights:
        path: out/model
        type: directory
    metrics: out/metrics.json
"""


def reefline(
    project: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR", "FORCE_COLOR")}
    return subprocess.run(
        [REEFLINE, *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        env={**base, **(env or {})},
        check=False,
    )


def ok(project: Path, *args: str) -> str:
    result = reefline(project, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def three_runs(tmp_path: Path) -> Path:
    """Runs 1, 2, 3 with lr 0.1, 0.5, 0.3 (run 3 also depth 5)."""
    (tmp_path / "reefline.yaml").write_text(SPEC)
    ok(tmp_path, "run", "--plain")
    ok(tmp_path, "run", "--plain", "-p", "lr=0.5")
    ok(tmp_path, "run", "--plain", "-p", "lr=0.3", "-p", "depth=5")
    return tmp_path


def _rows(stdout: str) -> dict[str, tuple[bool, list[str]]]:
    """key -> (marked as differing, values) from compare's table."""
    found = {}
    for line in stdout.splitlines():
        match = re.match(r"^(\*?)\s+([a-z.]+)\s+(\S.*)$", line)
        if match and match.group(2) not in ("key", "params", "metrics"):
            found[match.group(2)] = (match.group(1) == "*", match.group(3).split())
    return found


def test_compare_shows_params_and_metrics_side_by_side_and_marks_differences(three_runs: Path) -> None:
    out = ok(three_runs, "compare", "1", "2", "3")
    assert "\x1b[" not in out  # not a terminal: plain
    header = next(line for line in out.splitlines() if "key" in line)
    assert header.split()[-3:] == ["#1", "#2", "#3"]
    rows = _rows(out)
    assert rows["lr"] == (True, ["0.1", "0.5", "0.3"])
    assert rows["depth"] == (True, ["3", "3", "5"])
    assert rows["accuracy"] == (True, ["0.1", "0.5", "0.3"])
    assert rows["loss"] == (False, ["1", "1", "1"])

    same = _rows(ok(three_runs, "compare", "1", "1"))
    assert not any(differs for differs, _ in same.values())


def test_compare_colours_differences_on_request_and_shows_missing_keys_as_a_dash(three_runs: Path) -> None:
    (three_runs / "reefline.yaml").write_text(SPEC.replace("  depth: 3\n", "  depth: 3\n  seed: 7\n"))
    ok(three_runs, "run", "--plain")
    rows = _rows(ok(three_runs, "compare", "3", "last"))
    assert rows["seed"] == (True, ["-", "7"])
    coloured = reefline(three_runs, "compare", "3", "4", env={"FORCE_COLOR": "1"}).stdout
    assert "\x1b[33m" in coloured  # the differing values in yellow
    assert "\x1b[1m  lr\x1b[0m" in coloured  # and their keys in bold


def test_compare_json(three_runs: Path) -> None:
    payload: dict[str, Any] = json.loads(ok(three_runs, "compare", "1", "3", "--json"))
    assert [r["id"] for r in payload["runs"]] == [1, 3]
    assert {r["pipeline"] for r in payload["runs"]} == {"exp"}
    params = {p["key"]: p for p in payload["params"]}
    assert params["lr"] == {"key": "lr", "values": [0.1, 0.3], "differs": True}
    metrics = {m["key"]: m for m in payload["metrics"]}
    assert metrics["loss"] == {"key": "loss", "values": [1.0, 1.0], "differs": False}


def test_compare_errors(three_runs: Path) -> None:
    one = reefline(three_runs, "compare", "1")
    assert one.returncode == 2
    assert "at least two runs" in one.stderr
    missing = reefline(three_runs, "compare", "1", "99")
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: no run 99")


def test_metrics_history_and_sparkline(three_runs: Path) -> None:
    out = ok(three_runs, "metrics", "--metric", "accuracy")
    table = [line.split() for line in out.splitlines() if re.match(r"^\s+\d+\s", line)]
    assert [(row[0], row[-2], row[-1]) for row in table] == [
        ("1", "train", "0.1"),
        ("2", "train", "0.5"),
        ("3", "train", "0.3"),
    ]
    spark = next(line for line in out.splitlines() if line.startswith("accuracy "))
    assert spark == "accuracy  ▁█▄  min 0.1 · max 0.5 · last 0.3 (3 runs)"  # lowest, highest, between

    limited = ok(three_runs, "metrics", "exp", "--metric", "accuracy", "--limit", "2")
    assert "accuracy  █▁  min 0.3 · max 0.5 · last 0.3 (2 runs)" in limited  # runs 2 and 3 only

    payload = json.loads(ok(three_runs, "metrics", "--metric", "accuracy", "--json"))
    assert [(p["run"], p["job"], p["value"]) for p in payload] == [
        (1, "train", 0.1),
        (2, "train", 0.5),
        (3, "train", 0.3),
    ]


def test_metrics_of_an_unknown_key_or_pipeline_says_what_there_is(three_runs: Path) -> None:
    result = reefline(three_runs, "metrics", "--metric", "acc")
    assert result.returncode == 2
    assert "no run reported a metric 'acc'" in result.stderr
    assert "accuracy, loss" in result.stderr
    other = reefline(three_runs, "metrics", "nope", "--metric", "accuracy")
    assert other.returncode == 2
    assert "of pipeline 'nope'" in other.stderr
    usage = reefline(three_runs, "metrics")
    assert usage.returncode == 2
    assert "--metric" in usage.stderr


def test_checkout_restores_deleted_and_modified_outputs_byte_exact(three_runs: Path) -> None:
    run3 = (three_runs / "out" / "model.txt").read_bytes()
    out = ok(three_runs, "checkout", "1")
    assert (three_runs / "out" / "model.txt").read_text() == "model lr=0.1 depth=3\n"
    assert (three_runs / "out" / "model" / "weights.bin").read_text() == "weights 0.1\n"
    assert "restored:   out/model.txt (train.model)" in out
    assert "run 1: 3 restored, 0 up to date, 0 missing" in out

    (three_runs / "out" / "model.txt").write_text("edited by hand\n")
    (three_runs / "out" / "model" / "weights.bin").unlink()
    out = ok(three_runs, "checkout", "3", "train")
    assert (three_runs / "out" / "model.txt").read_bytes() == run3
    assert (three_runs / "out" / "model" / "weights.bin").read_text() == "weights 0.3\n"
    assert "run 3: 3 restored, 0 up to date, 0 missing" in out

    (three_runs / "out" / "model.txt").unlink()
    again = ok(three_runs, "checkout", "last")
    assert "up to date: out/metrics.json (train.metrics)" in again
    assert "up to date: out/model (train.weights)" in again
    assert "restored:   out/model.txt (train.model)" in again
    assert (three_runs / "out" / "model.txt").read_bytes() == run3


def test_checkout_errors(three_runs: Path) -> None:
    unknown_job = reefline(three_runs, "checkout", "1", "nope")
    assert unknown_job.returncode == 2
    assert "no job 'nope'" in unknown_job.stderr
    unknown_run = reefline(three_runs, "checkout", "42")
    assert unknown_run.returncode == 2
    assert "no run 42" in unknown_run.stderr


def stored_sizes(project: Path) -> dict[str, int]:
    root = project / ".reefline" / "artifacts"
    return {p.relative_to(root).as_posix(): p.stat().st_size for p in root.rglob("*") if p.is_file()}


def test_gc_frees_what_old_runs_alone_reference_and_checkout_then_reports_it_missing(
    three_runs: Path,
) -> None:
    before = stored_sizes(three_runs)
    dry = ok(three_runs, "gc", "--keep-last", "1", "--dry-run")
    assert stored_sizes(three_runs) == before
    # runs 1 and 2 each: model.txt, metrics.json, weights.bin and the manifest of out/model
    assert "would remove 8 object(s)" in dry
    assert dry.count("would remove directory") == 2
    assert "nothing deleted" in dry

    out = ok(three_runs, "gc", "--keep-last", "1")
    after = stored_sizes(three_runs)
    gone = set(before) - set(after)
    assert len(gone) == 8 and len([k for k in gone if k.startswith("trees/")]) == 2
    assert f"removed 8 object(s), {sum(before[k] for k in gone)} bytes freed" in out
    assert "kept runs: 3;" in out
    assert len(after) == 4  # run 3's three files and its manifest

    missing = reefline(three_runs, "checkout", "1")
    assert missing.returncode == 2
    assert "missing:    out/model.txt (train.model): not in the artifact store" in missing.stdout
    assert "could not be restored" in missing.stderr
    (three_runs / "out" / "model.txt").unlink()
    shutil.rmtree(three_runs / "out" / "model")
    ok(three_runs, "checkout", "3")  # the kept run still comes back whole
    assert (three_runs / "out" / "model.txt").read_text() == "model lr=0.3 depth=5\n"
    assert (three_runs / "out" / "model" / "weights.bin").read_text() == "weights 0.3\n"

    nothing = ok(three_runs, "gc", "--keep-last", "1")
    assert "removed 0 object(s), 0 bytes freed" in nothing


def test_gc_keeps_content_a_kept_run_shares_with_an_old_one(three_runs: Path) -> None:
    ok(three_runs, "run", "--plain", "--no-cache")  # run 4: the same params as run 1, the same bytes
    before = stored_sizes(three_runs)
    ok(three_runs, "gc", "--keep-last", "1")
    assert len(before) - len(stored_sizes(three_runs)) == 8  # runs 2 and 3 go, run 1's content stays
    (three_runs / "out" / "model.txt").unlink()
    ok(three_runs, "checkout", "1")
    assert (three_runs / "out" / "model.txt").read_text() == "model lr=0.1 depth=3\n"


def test_gc_usage(three_runs: Path) -> None:
    assert reefline(three_runs, "gc").returncode == 2
    negative = reefline(three_runs, "gc", "--keep-last", "-1")
    assert negative.returncode == 2


def test_checkout_never_writes_outside_the_workspace(
    three_runs: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside")
    shutil.rmtree(three_runs / "out")
    (three_runs / "out").symlink_to(outside, target_is_directory=True)  # out/ now leads out
    result = reefline(three_runs, "checkout", "1")
    assert result.returncode == 2
    assert result.stdout.count("refused") == 3
    assert list(outside.iterdir()) == []

    (three_runs / "out").unlink()
    with sqlite3.connect(three_runs / ".reefline" / "reefline.db") as conn:  # a database written by anyone
        conn.execute("UPDATE outputs SET path = '../escaped.txt' WHERE name = 'model'")
    result = reefline(three_runs, "checkout", "1", "train")
    assert result.returncode == 2
    assert "missing:    ../escaped.txt (train.model): refused" in result.stdout
    assert not (three_runs.parent / "escaped.txt").exists()


MATRIX_SPEC = """\
version: 1
name: grid
params:
  base: 1
jobs:
  fit:
    matrix:
      model: [tree, forest]
    script:
      - mkdir -p out
      - >-
        echo "{\\"score\\": ${{ params.base }}}" > out/${{ matrix.model }}.json
    metrics: out/${{ matrix.model }}.json
"""


def test_a_metric_of_a_matrix_job_is_shown_per_expansion(tmp_path: Path) -> None:
    (tmp_path / "reefline.yaml").write_text(MATRIX_SPEC)
    ok(tmp_path, "run", "--plain")
    ok(tmp_path, "run", "--plain", "-p", "base=2")
    table = ok(tmp_path, "compare", "1", "2")
    for model in ("tree", "forest"):
        assert re.search(rf"^\*\s+score \[fit\[model={model}\]\]\s+1\s+2$", table, re.MULTILINE), table
    payload = json.loads(ok(tmp_path, "compare", "1", "2", "--json"))
    assert {m["key"]: m["values"] for m in payload["metrics"]} == {
        "score [fit[model=tree]]": [1.0, 2.0],
        "score [fit[model=forest]]": [1.0, 2.0],
    }
    out = ok(tmp_path, "metrics", "--metric", "score")
    assert "score [fit[model=tree]]  ▁█  min 1 · max 2 · last 2 (2 runs)" in out
    assert "score [fit[model=forest]]  ▁█" in out


UNCACHED_SPEC = """\
version: 1
name: stamp
params:
  tag: a
jobs:
  stamp:
    cache: false
    script:
      - mkdir -p out && echo "stamp ${{ params.tag }}" > out/stamp.txt
    outputs:
      stamp: {path: out/stamp.txt, type: file}
"""


def test_a_cache_false_output_comes_back_with_checkout_and_goes_with_gc(tmp_path: Path) -> None:
    (tmp_path / "reefline.yaml").write_text(UNCACHED_SPEC)
    ok(tmp_path, "run", "--plain")
    ok(tmp_path, "run", "--plain", "-p", "tag=b")
    (tmp_path / "out" / "stamp.txt").unlink()
    out = ok(tmp_path, "checkout", "1")
    assert "restored:   out/stamp.txt (stamp.stamp)" in out
    assert (tmp_path / "out" / "stamp.txt").read_text() == "stamp a\n"

    assert "removed 1 object(s)" in ok(tmp_path, "gc", "--keep-last", "1")  # run 1's stamp
    (tmp_path / "out" / "stamp.txt").unlink()
    missing = reefline(tmp_path, "checkout", "1")
    assert missing.returncode == 2 and "not in the artifact store" in missing.stdout
    ok(tmp_path, "checkout", "2")
    assert (tmp_path / "out" / "stamp.txt").read_text() == "stamp b\n"
