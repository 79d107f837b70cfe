"""End to end: a real ``reefline run`` whose job calls a decorated function, then a script that tags a
prediction with ``reefline.log_output``, then ``reefline trace prediction-…`` and ``reefline components``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.clean_env import without_reefline_settings

REEFLINE = str(Path(sys.executable).with_name("reefline"))

FEATURIZE = """\
import sys
from pathlib import Path

import reefline


@reefline.component(name="featurize", owner="alice", description="raw rows to features")
def featurize(raw_path: str, out_path: str) -> None:
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    Path(out_path).write_text(Path(raw_path).read_text().upper())


if __name__ == "__main__":
    featurize(sys.argv[1], sys.argv[2])
"""

PREDICT = """\
from pathlib import Path

import reefline


@reefline.component(name="predict", owner="bob")
def predict(model_path: str) -> str:
    answer = "setosa" if "A" in Path(model_path).read_text() else "other"
    reefline.log_output("prediction-8812", inputs=[model_path])
    return answer


print(predict("out/model.txt"))
"""

SPEC = """\
version: 1
name: iris
jobs:
  prepare:
    script: python featurize.py data/raw.csv out/features.csv
    inputs:
      raw: {path: data/raw.csv, type: file}
      code: {path: featurize.py, type: file}
    outputs:
      features: {path: out/features.csv, type: file}
  train:
    needs: [prepare]
    script: (cat out/features.csv; echo trained) > out/model.txt
    inputs:
      features: {from: prepare.features}
    outputs:
      model: {path: out/model.txt, type: file}
"""


def reefline(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = without_reefline_settings()
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # `python` with reefline
    return subprocess.run(
        [REEFLINE, *args],
        cwd=project,
        capture_output=True,
        text=True,
        errors="surrogateescape",  # file names that are not UTF-8 come back as they are
        timeout=120,
        check=False,
        env=env,
    )


def python(project: Path, script: str) -> subprocess.CompletedProcess[str]:
    env = without_reefline_settings()
    return subprocess.run(
        [sys.executable, script],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "raw.csv").write_text("a,b\n1,2\n")
    (tmp_path / "featurize.py").write_text(FEATURIZE)
    (tmp_path / "predict.py").write_text(PREDICT)
    (tmp_path / "reefline.yaml").write_text(SPEC)
    return tmp_path


def test_a_prediction_traces_back_through_a_component_into_the_pipeline(project: Path) -> None:
    first = reefline(project, "run")
    assert first.returncode == 0, first.stdout + first.stderr
    again = reefline(project, "run")  # all cached: the trace still leads to the run that made them
    assert again.returncode == 0 and "cached" in again.stdout, again.stdout
    served = python(project, "predict.py")
    assert served.returncode == 0 and served.stdout.strip() == "setosa", served.stderr
    assert "warning" not in served.stderr

    result = reefline(project, "trace", "prediction-8812", "--json")
    assert result.returncode == 0, result.stderr
    frames = json.loads(result.stdout)["frames"]
    assert [(f["kind"], f["job"]) for f in frames] == [
        ("component", "predict"),
        ("job", "train"),
        ("component", "featurize"),  # it wrote prepare's output inside prepare: the finer answer
    ]
    predict, train, featurize = frames
    assert [(i["path"], i["frame"]) for i in predict["inputs"]] == [("out/model.txt", 1)]
    assert train["run_id"] == 1  # run 2 was all cached: the bytes were made in run 1
    assert [(i["path"], i["frame"]) for i in train["inputs"]] == [("out/features.csv", 2)]
    assert featurize["in_job"] == "prepare" and featurize["run_id"] == 1  # linked to the job's attempt
    assert [(i["path"], i["frame"]) for i in featurize["inputs"]] == [("data/raw.csv", None)]
    assert {o["path"] for o in featurize["outputs"]} == {"out/features.csv"}

    text = reefline(project, "trace", "prediction-8812").stdout
    assert "component run" in text and "(in job prepare of run 1)" in text

    ahead = json.loads(reefline(project, "trace", "data/raw.csv", "--forward", "--json").stdout)["frames"]
    assert {(f["kind"], f["job"]) for f in ahead} >= {("job", "prepare"), ("component", "featurize")}

    listed = json.loads(reefline(project, "components", "--json").stdout)
    assert [(c["name"], c["owner"], c["runs"], c["last_status"]) for c in listed] == [
        ("featurize", "alice", 1, "success"),  # the cached second run did not call it again
        ("predict", "bob", 1, "success"),
    ]
    table = reefline(project, "components").stdout
    assert table.splitlines()[0].split() == ["name", "kind", "owner", "runs", "last", "run", "description"]


def test_register_then_list_and_a_bad_name_is_a_usage_error(project: Path) -> None:
    done = reefline(project, "components", "register", "scorer", "--kind", "model", "--owner", "carol")
    assert done.returncode == 0 and done.stdout.strip() == "registered component scorer (model)", done.stderr
    listed = json.loads(reefline(project, "components", "--json").stdout)
    assert [(c["name"], c["kind"], c["owner"], c["runs"]) for c in listed] == [
        ("scorer", "model", "carol", 0)
    ]
    bad = reefline(project, "components", "register", "no spaces please")
    assert bad.returncode == 2 and bad.stderr.startswith("error: component name 'no spaces please'")
    empty = reefline(project / "data", "components")  # a folder without a store
    assert empty.returncode == 0 and "no components yet" in empty.stdout


ODD = """\
import multiprocessing
import os

import reefline

NAME = os.fsdecode(b"we\\xffird\\x1b[31m.csv")  # not UTF-8, and an escape sequence


@reefline.component(name="odd")
def odd(path: str, out: str) -> None:
    with open(out, "w") as f:
        f.write(open(path).read() + out)


def child(i: int) -> None:
    odd(NAME, f"child{i}.csv")


if __name__ == "__main__":
    open(NAME, "w").write("x")
    odd(NAME, "first.csv")
    children = [multiprocessing.Process(target=child, args=(i,)) for i in range(3)]
    for c in children:
        c.start()
    for c in children:
        c.join()
    odd(NAME, "last.csv")  # the parent's database connection still works after the forks
    print([c.exitcode for c in children])
"""


def test_odd_file_names_and_forked_children_are_recorded_and_shown_harmlessly(project: Path) -> None:
    (project / "odd.py").write_text(ODD)
    done = python(project, "odd.py")
    assert done.returncode == 0 and done.stdout.strip() == "[0, 0, 0]", done.stderr
    assert "warning" not in done.stderr
    [listed] = json.loads(reefline(project, "components", "--json").stdout)
    assert (listed["name"], listed["runs"]) == ("odd", 5)
    shown = reefline(project, "trace", "last.csv")
    assert shown.returncode == 0, shown.stderr
    assert "\x1b" not in shown.stdout and "\\x1b[31m.csv" in shown.stdout
    frame = json.loads(reefline(project, "trace", "last.csv", "--json").stdout)["frames"][0]
    assert frame["job"] == "odd" and frame["outputs"][0]["path"] == "last.csv"


def test_the_iris_prediction_example_traces_back_to_the_dataset_split(tmp_path: Path) -> None:
    import shutil

    project = tmp_path / "iris"
    shutil.copytree(Path(__file__).resolve().parents[2] / "examples" / "iris", project)
    ran = reefline(project, "run")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    served = subprocess.run(
        [sys.executable, "predict.py", "3"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert served.returncode == 0 and served.stdout.strip() in {"setosa", "versicolor", "virginica"}, (
        served.stderr
    )
    frames = json.loads(reefline(project, "trace", "prediction-3", "--json").stdout)["frames"]
    assert [f["job"] for f in frames] == ["predict", "train[model=tree]", "featurize", "prepare"]
    assert [i["frame"] for i in frames[0]["inputs"]] == [1, 2]
