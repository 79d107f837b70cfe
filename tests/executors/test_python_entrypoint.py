"""PythonCommand steps: the entrypoint run by LocalExecutor, and its argument matching in-process."""

from __future__ import annotations

import functools
import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from exec_support import make_step, run

from reefline.executors.base import StepContext
from reefline.executors.entrypoint import accepted_arguments
from reefline.executors.local import LocalExecutor
from reefline.plan.ir import InputRef, OutputRef, PythonCommand, Step

MODULE = """
import json, sys

def train(inputs, outputs, params):
    data = open(inputs["data"]).read()
    with open(outputs["model"], "w") as f:
        json.dump({"data": data, "shards": inputs["shards"], "lr": params["lr"]}, f)
    print("trained")

def only_params(params):
    print(sorted(params))

def everything(**kwargs):
    print(sorted(kwargs))

def nothing():
    print("ran")

def boom(params):
    print("before", flush=True)
    raise ValueError("boom")

def exits():
    sys.exit(7)

not_callable = 3
"""


def python_step(entry: str) -> Step:
    step = make_step(PythonCommand(entry))
    return Step(
        id=step.id,
        job=step.job,
        stage=step.stage,
        command=step.command,
        env=(),
        needs=(),
        inputs=(
            InputRef("data", ("data.csv",), "file"),
            InputRef("shards", ("a.bin", "b.bin"), "file"),
        ),
        outputs=(OutputRef("model", "out/model.json", "file"),),
    )


@pytest.fixture
def py_ctx(ctx: StepContext) -> StepContext:
    (ctx.workspace / "steps.py").write_text(MODULE)
    (ctx.workspace / "broken_import.py").write_text("import no_such_dependency_xyz\n")
    (ctx.workspace / "data.csv").write_text("1,2\n")
    (ctx.workspace / "out").mkdir()
    # The plan compiler writes this context for every Python step.
    context = {
        "inputs": {"data": "data.csv", "shards": ["a.bin", "b.bin"]},
        "outputs": {"model": "out/model.json"},
        "params": {"lr": 0.1, "layers": [1, 2]},
    }
    env = {**ctx.env, "REEFLINE_CONTEXT": json.dumps(context)}
    return StepContext(run_id=1, attempt=1, workspace=ctx.workspace, env=env)


@pytest.fixture
def local() -> LocalExecutor:
    return LocalExecutor(grace=0.5)


def test_function_gets_inputs_outputs_params_and_writes_an_output(
    local: LocalExecutor, py_ctx: StepContext
) -> None:
    result, logs = run(local, python_step("steps:train"), py_ctx)
    assert result.ok, logs.lines
    assert logs.of("stdout") == ["trained"]
    written = json.loads((py_ctx.workspace / "out/model.json").read_text())
    assert written == {"data": "1,2\n", "shards": ["a.bin", "b.bin"], "lr": 0.1}


@pytest.mark.parametrize(
    ("entry", "printed"),
    [
        ("steps:only_params", "['layers', 'lr']"),
        ("steps:everything", "['inputs', 'matrix', 'outputs', 'params']"),
        ("steps:nothing", "ran"),
    ],
)
def test_only_accepted_arguments_are_passed(
    local: LocalExecutor, py_ctx: StepContext, entry: str, printed: str
) -> None:
    result, logs = run(local, python_step(entry), py_ctx)
    assert result.ok, logs.lines
    assert logs.of("stdout") == [printed]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("nomodule:fn", "no module named 'nomodule'"),
        ("steps:missing", "module 'steps' has no attribute 'missing'"),
        ("steps:not_callable", "not a function"),
        ("no_colon", "expected 'module:function'"),
    ],
)
def test_bad_entry_exits_2_with_one_clear_line(
    local: LocalExecutor, py_ctx: StepContext, entry: str, message: str
) -> None:
    result, logs = run(local, python_step(entry), py_ctx)
    assert result.exit_code == 2
    stderr = logs.of("stderr")
    assert len(stderr) == 1, stderr
    assert message in stderr[0]
    assert stderr[0].startswith("reefline: ")


def test_exception_exits_1_with_traceback(local: LocalExecutor, py_ctx: StepContext) -> None:
    result, logs = run(local, python_step("steps:boom"), py_ctx)
    assert result.exit_code == 1
    assert logs.of("stdout") == ["before"]
    stderr = logs.of("stderr")
    assert stderr[0] == "Traceback (most recent call last):"
    assert stderr[-1] == "ValueError: boom"


def test_missing_import_inside_the_module_is_a_failure_not_a_bad_entry(
    local: LocalExecutor, py_ctx: StepContext
) -> None:
    result, logs = run(local, python_step("broken_import:fn"), py_ctx)
    assert result.exit_code == 1
    assert "No module named 'no_such_dependency_xyz'" in logs.of("stderr")[-1]


def test_system_exit_keeps_its_code(local: LocalExecutor, py_ctx: StepContext) -> None:
    result, _ = run(local, python_step("steps:exits"), py_ctx)
    assert result.exit_code == 7


def test_bad_context_json_exits_2(local: LocalExecutor, py_ctx: StepContext) -> None:
    env = {**py_ctx.env, "REEFLINE_CONTEXT": "{nope"}
    ctx = StepContext(run_id=1, attempt=1, workspace=py_ctx.workspace, env=env)
    result, logs = run(local, python_step("steps:nothing"), ctx)
    assert result.exit_code == 2
    assert "REEFLINE_CONTEXT is not valid JSON" in logs.of("stderr")[0]


# -- argument matching, in-process ---------------------------------------------------------------


def _plain(inputs: Any, params: Any, other: Any = None) -> None: ...
def _kwonly(*, outputs: Any) -> None: ...
def _posonly(inputs: Any, /, params: Any) -> None: ...
def _kwargs(a: Any = 1, **kw: Any) -> None: ...


def _decorated(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    return wrapper


class _CallableObject:
    def __call__(self, outputs: Any, params: Any) -> None: ...


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (_plain, {"inputs", "params"}),
        (_kwonly, {"outputs"}),
        (_posonly, {"params"}),
        (_kwargs, {"inputs", "outputs", "params", "matrix"}),
        (_decorated(_kwonly), {"outputs"}),
        (functools.partial(_plain, 1), {"params"}),
        (_CallableObject(), {"outputs", "params"}),
        (print, set()),
    ],
)
def test_accepted_arguments(fn: Callable[..., Any], expected: set[str]) -> None:
    assert accepted_arguments(fn) == expected


def test_entrypoint_source_imports_nothing_heavy() -> None:
    import reefline.executors.entrypoint as ep

    source = Path(ep.__file__).read_text()
    top_level = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert (
        top_level
        == textwrap.dedent("""\
        from __future__ import annotations
        import os
        import sys""").splitlines()
    )


def test_a_context_too_big_for_the_environment_goes_through_a_file(
    local: LocalExecutor, py_ctx: StepContext
) -> None:
    # A fan-in over thousands of expansions: one env entry over 128 KiB is "Argument list too long".
    shards = [f"shards/part-{i:05d}.bin" for i in range(8000)]
    context = {
        "inputs": {"data": "data.csv", "shards": shards},
        "outputs": {"model": "out/model.json"},
        "params": {"lr": 0.1},
    }
    env = {**py_ctx.env, "REEFLINE_CONTEXT": json.dumps(context)}
    assert len(env["REEFLINE_CONTEXT"]) > 128 * 1024
    big = StepContext(run_id=1, attempt=1, workspace=py_ctx.workspace, env=env)
    result, logs = run(local, python_step("steps:train"), big)
    assert result.ok, logs.lines
    written = json.loads((py_ctx.workspace / "out/model.json").read_text())
    assert written["shards"] == shards
