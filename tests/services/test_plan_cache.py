"""A run of an unchanged spec reuses its compiled plan; any change to what the plan depends on does not."""

from __future__ import annotations

import os
import pickle
import threading
from pathlib import Path

import pytest

from reefline.engine.events import NullObserver
from reefline.services import plan_cache
from reefline.services.compile import compile_text
from reefline.services.runs import start_run
from reefline.services.types import RunOptions, SpecInvalid
from reefline.spec.policy import Policy

SPEC = """\
version: 1
name: cached
params:
  word: hello
jobs:
  say:
    script: echo ${{ params.word }} > out.txt
    outputs:
      text: {path: out.txt}
"""


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(plan_cache.CACHE_DIR_ENV, str(folder))
    monkeypatch.delenv(plan_cache.SWITCH_ENV, raising=False)
    return folder / "plans"


def entries(cache: Path) -> list[Path]:
    return sorted(cache.glob("*.pickle")) if cache.is_dir() else []


def run(project: Path, text: str, **options: object) -> str:
    (project / "reefline.yaml").write_text(text)
    outcome = start_run(project / "reefline.yaml", RunOptions(**options), NullObserver(), threading.Event())  # type: ignore[arg-type]
    assert outcome.state == "success", outcome.reason
    return (project / "out.txt").read_text()


def test_an_unchanged_spec_compiles_once(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "p"
    project.mkdir()
    monkeypatch.delenv("REEFLINE_DATABASE_URL", raising=False)
    assert run(project, SPEC) == "hello\n"
    assert len(entries(cache)) == 1
    compiles: list[str] = []
    from reefline.plan import compiler

    real = compiler.compile_plan
    monkeypatch.setattr(compiler, "compile_plan", lambda *a, **k: compiles.append("x") or real(*a, **k))
    assert run(project, SPEC) == "hello\n"
    assert compiles == [] and len(entries(cache)) == 1
    # A changed spec, a changed param override: compiled again, and the new plan is what runs.
    assert run(project, SPEC.replace("hello", "changed")) == "changed\n"
    assert run(project, SPEC, params={"word": "override"}) == "override\n"
    assert run(project, SPEC, params={"word": "other"}) == "other\n"
    assert len(compiles) == 3 and len(entries(cache)) == 4


def test_the_key_covers_selection_policy_and_job_limit(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = plan_cache.key(SPEC, RunOptions(), None, None)
    assert plan_cache.key(SPEC, RunOptions(), None, None) == base
    others = [
        plan_cache.key(SPEC + "\n", RunOptions(), None, None),
        plan_cache.key(SPEC, RunOptions(only=("say",)), None, None),
        plan_cache.key(SPEC, RunOptions(from_job="say"), None, None),
        plan_cache.key(SPEC, RunOptions(params={"word": "x"}), None, None),
        plan_cache.key(SPEC, RunOptions(), {"word": "x"}, None),
        plan_cache.key(SPEC, RunOptions(), None, Policy.build(["busybox"], None, "test")),
    ]
    monkeypatch.setenv("REEFLINE_MAX_JOBS", "5")
    others.append(plan_cache.key(SPEC, RunOptions(), None, None))
    assert base not in others and len(set(others)) == len(others)


def test_a_change_to_the_compiler_code_is_a_miss(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = plan_cache.key(SPEC, RunOptions(), None, None)
    module = Path(plan_cache.__file__).resolve().parents[1] / "plan" / "ir.py"
    stat = module.stat()
    try:
        os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        assert plan_cache.key(SPEC, RunOptions(), None, None) != before
    finally:
        os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_invalid_specs_are_not_kept_and_report_every_time(cache: Path, tmp_path: Path) -> None:
    bad = SPEC.replace("script:", "scrpt:")
    for _ in range(2):
        with pytest.raises(SpecInvalid):
            compile_text(bad, tmp_path / "reefline.yaml", RunOptions(), cached=True)
    assert entries(cache) == []


def test_a_broken_or_foreign_entry_is_a_miss(cache: Path, tmp_path: Path) -> None:
    first = compile_text(SPEC, tmp_path / "reefline.yaml", RunOptions(), cached=True)
    (entry,) = entries(cache)
    for garbage in (b"", b"\x80\x05truncated", pickle.dumps({"not": "a plan"})):
        entry.write_bytes(garbage)
        again = compile_text(SPEC, tmp_path / "reefline.yaml", RunOptions(), cached=True)
        assert again.plan == first.plan and again.params == first.params
    assert isinstance(pickle.loads(entry.read_bytes()), plan_cache.CachedPlan)  # rewritten


def test_off_switch_and_an_unwritable_cache(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(plan_cache.SWITCH_ENV, "off")
    compile_text(SPEC, tmp_path / "reefline.yaml", RunOptions(), cached=True)
    assert entries(cache) == []
    monkeypatch.delenv(plan_cache.SWITCH_ENV)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(plan_cache.CACHE_DIR_ENV, str(blocker))
    compiled = compile_text(SPEC, tmp_path / "reefline.yaml", RunOptions(), cached=True)
    assert compiled.pipeline_name == "cached"


def test_old_entries_are_trimmed(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan_cache, "MAX_ENTRIES", 3)
    for i in range(5):
        compile_text(SPEC.replace("hello", f"w{i}"), tmp_path / "reefline.yaml", RunOptions(), cached=True)
    assert len(entries(cache)) == 3


BROKEN = """\
version: 1
name: broken
jobs:
  a:
    script: echo ${{ params.missing }}
    needs: [nowhere]
  b:
    scrpt: typo
"""


@pytest.mark.parametrize("text", [SPEC, BROKEN])
def test_validate_says_the_same_from_the_cache(
    text: str, cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from reefline.cli.main import app

    monkeypatch.chdir(tmp_path)
    (tmp_path / "reefline.yaml").write_text(text)
    runner = CliRunner()
    outputs = []
    for args in (["validate"], ["validate"], ["validate", "--json"], ["validate", "--json"]):
        result = runner.invoke(app, args)
        outputs.append((result.exit_code, result.output))
    assert outputs[0] == outputs[1] and outputs[2] == outputs[3]
    assert outputs[0][0] == (0 if text is SPEC else 2)
    kept = 1 if text is SPEC else 0  # a report with errors is not kept
    assert len(entries(cache)) == kept
    monkeypatch.setenv(plan_cache.SWITCH_ENV, "off")  # and the same as a fresh validation
    assert (runner.invoke(app, ["validate"]).exit_code, runner.invoke(app, ["validate"]).output) == outputs[0]
    if text is BROKEN:
        assert "nowhere" in outputs[0][1] and "scrpt" in outputs[0][1]
    monkeypatch.delenv(plan_cache.SWITCH_ENV)
    (tmp_path / "reefline.yaml").write_text(text.replace("echo", "printf"))  # an edit: validated again
    assert len(entries(cache)) == kept
    runner.invoke(app, ["validate"])
    assert len(entries(cache)) == 2 * kept
