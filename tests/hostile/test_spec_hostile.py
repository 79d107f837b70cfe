"""Hostile specs, each through the installed ``reefline validate`` in a subprocess.

A segfault or a hang would take pytest down with it, so every case runs as a child process with a
time bound. Each asserts exit 2, a located ``file:line:col: error:`` diagnostic (at the right place
where it matters), no traceback, and nothing written anywhere: not in the workspace, not beside it,
not in HOME (but for the report of a valid spec in the plan cache, under 1 MB).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.clean_env import without_reefline_settings

REEFLINE = str(Path(sys.executable).with_name("reefline"))
TIMEOUT = 60  # a hang guard: each case takes well under a second
HEAD = b"version: 1\nname: hostile\n"
LOCATED = re.compile(r"^reefline\.yaml:(\d+):(\d+): error: .+ \[(RL\d{3})\]$", re.MULTILINE)


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str
    seconds: float

    def located(self) -> list[tuple[int, int, str]]:
        return [(int(m[1]), int(m[2]), m[3]) for m in LOCATED.finditer(self.stdout)]


PLAN_CACHE = Path("home/.cache/reefline/plans")  # services/plan_cache.py: a valid spec's report


def _tree(root: Path) -> set[str]:
    """Every path under ``root`` but the plan cache, whose entries stay small."""
    found = set()
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if relative in PLAN_CACHE.parents:
            continue
        if relative.is_relative_to(PLAN_CACHE):
            assert path.is_dir() or path.stat().st_size < 1 << 20, relative
            continue
        found.add(str(relative))
    return found


@pytest.fixture
def validate(tmp_path: Path) -> Callable[..., Outcome]:
    """Write the spec bytes to a fresh workspace and run ``reefline validate`` there."""
    home = tmp_path / "home"
    home.mkdir()
    workspace = tmp_path / "workspace"
    workspace.mkdir()

    def run(spec: bytes, *args: str, env: dict[str, str] | None = None) -> Outcome:
        (workspace / "reefline.yaml").write_bytes(spec)
        before = _tree(tmp_path)
        base = without_reefline_settings()
        start = time.monotonic()
        result = subprocess.run(
            [REEFLINE, "validate", *args],
            cwd=workspace,
            env={**base, "HOME": str(home), "NO_COLOR": "1", **(env or {})},
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
        seconds = time.monotonic() - start
        assert _tree(tmp_path) == before, "validate wrote files"
        out = result.stdout.decode("utf-8")  # must be valid UTF-8 whatever the input was
        err = result.stderr.decode("utf-8")
        return Outcome(result.returncode, out, err, seconds)

    return run


def assert_located(outcome: Outcome, code: str, line: int | None = None, col: int | None = None) -> None:
    text = outcome.stdout + outcome.stderr
    assert outcome.code == 2, text  # 139 would be a segfault, 1 a failed run, 3 a bug
    assert "Traceback" not in text and "internal error" not in text, text
    assert outcome.stderr == "" or outcome.stderr.startswith("error: "), outcome.stderr
    found = [(ln, c) for ln, c, rl in outcome.located() if rl == code]
    assert found, text
    if line is not None:
        assert found[0][0] == line, text
    if col is not None:
        assert found[0][1] == col, text
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", text), "raw control characters in the output"


# --- nesting and aliases ----------------------------------------------------------------------


@pytest.mark.parametrize("opener", [b"[", b"{", b"- "])
def test_deep_flow_nesting(validate: Callable[..., Outcome], opener: bytes) -> None:
    outcome = validate(opener * 25_000 + b"\n")
    assert_located(outcome, "RL108", line=1)


def test_deep_flow_nesting_in_a_job(validate: Callable[..., Outcome]) -> None:
    outcome = validate(HEAD + b"jobs:\n  a:\n    script: " + b"[" * 25_000 + b"\n")
    assert_located(outcome, "RL108", line=5, col=210)


def test_deep_block_sequences(validate: Callable[..., Outcome]) -> None:
    spec = b"\n".join(b" " * (2 * i) + b"-" for i in range(3_000)) + b" x\n"
    assert_located(validate(spec), "RL108", line=201)


def test_deep_block_mappings(validate: Callable[..., Outcome]) -> None:
    spec = b"".join(b" " * i + b"k:\n" for i in range(1_000)) + b" " * 1_000 + b"x\n"
    assert_located(validate(spec), "RL108", line=201)


def test_billion_laughs(validate: Callable[..., Outcome]) -> None:
    lines = [b'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        refs = b", ".join([b"*a%d" % (i - 1)] * 9)
        lines.append(b"a%d: &a%d [%s]" % (i, i, refs))
    outcome = validate(b"\n".join(lines) + b"\n")
    assert_located(outcome, "RL108", line=6)  # at the alias that crosses the limit, not at 1:1
    assert "alias '*a4' expands" in outcome.stdout


def test_aliases_that_nest_deeply(validate: Callable[..., Outcome]) -> None:
    lines = [b"a0: &a0 [x]"] + [b"a%d: &a%d [*a%d]" % (i, i, i - 1) for i in range(1, 1_000)]
    outcome = validate(b"\n".join(lines) + b"\n")
    assert_located(outcome, "RL108", line=200)  # a0 is one level, each alias adds one
    assert "alias '*a198' nests" in outcome.stdout


def test_a_recursive_alias(validate: Callable[..., Outcome]) -> None:
    assert_located(validate(HEAD + b"jobs: &j {a: {script: echo, needs: *j}}\n"), "RL108", line=3)


# --- size ---------------------------------------------------------------------------------------


def test_a_million_job_matrix(validate: Callable[..., Outcome]) -> None:
    values = b"[" + b", ".join(b"%d" % i for i in range(1_000)) + b"]"
    spec = (
        HEAD
        + b"jobs:\n  sweep:\n    script: echo\n    matrix:\n      a: "
        + values
        + b"\n      b: "
        + values
        + b"\n"
    )
    outcome = validate(spec)
    assert_located(outcome, "RL510", line=6, col=5)
    assert "1,000,000" in outcome.stdout


def test_the_job_limit_can_be_raised(validate: Callable[..., Outcome]) -> None:
    values = b"[" + b", ".join(b"%d" % i for i in range(150)) + b"]"
    spec = HEAD + b"jobs:\n  sweep:\n    script: echo\n    matrix: {a: " + values + b", b: " + values + b"}\n"
    assert_located(validate(spec), "RL510", line=6)
    raised = validate(spec, env={"REEFLINE_MAX_JOBS": "30000"})
    assert raised.code == 0, raised.stdout + raised.stderr


def test_a_huge_integer(validate: Callable[..., Outcome]) -> None:
    assert_located(
        validate(HEAD + b"params:\n  n: 1" + b"0" * 5_000 + b"\njobs: {}\n"), "RL106", line=4, col=6
    )


def test_very_long_lines(validate: Callable[..., Outcome]) -> None:
    name = b"x" * 2_000_000
    outcome = validate(HEAD + b"jobs:\n  a:\n    script: echo " + name + b"\n    needs: [" + name + b"]\n")
    assert_located(outcome, "RL201", line=6, col=13)
    assert len(outcome.stdout) < 20_000  # the message shows the head and tail of a huge value


def test_a_file_too_large(validate: Callable[..., Outcome]) -> None:
    outcome = validate(HEAD + b"# " + b"x" * (21 * 1024 * 1024) + b"\n")
    assert_located(outcome, "RL108", line=1)


# --- odd bytes ----------------------------------------------------------------------------------

GOOD_JOBS = b"jobs:\n  a:\n    script: echo\n    needs: [b]\n"


@pytest.mark.parametrize(
    ("spec", "line", "col"),
    [
        (HEAD + b"description: a\x00b\n" + GOOD_JOBS, 3, 15),
        (HEAD + b"description: a\x1b[31mb\n" + GOOD_JOBS, 3, 15),
        (HEAD + b"description: \x7f\n" + GOOD_JOBS, 3, 14),
    ],
    ids=["nul", "esc", "del"],
)
def test_raw_control_bytes(validate: Callable[..., Outcome], spec: bytes, line: int, col: int) -> None:
    assert_located(validate(spec), "RL101", line=line, col=col)


def test_escaped_control_characters_are_shown_escaped(validate: Callable[..., Outcome]) -> None:
    spec = HEAD + b'jobs:\n  a:\n    script: echo\n    needs: ["\\e]0;pwned\\a\\0\\u202e"]\n'
    outcome = validate(spec)
    assert_located(outcome, "RL201", line=6, col=13)
    assert "\\x1b]0;pwned\\x07\\x00\\u202e" in outcome.stdout


def test_a_byte_order_mark_keeps_positions(validate: Callable[..., Outcome]) -> None:
    assert_located(validate(b"\xef\xbb\xbf" + HEAD + GOOD_JOBS), "RL201", line=6, col=13)


def test_crlf_line_ends_keep_positions(validate: Callable[..., Outcome]) -> None:
    assert_located(validate((HEAD + GOOD_JOBS).replace(b"\n", b"\r\n")), "RL201", line=6, col=13)


@pytest.mark.parametrize(
    ("bad", "col"),
    [(b"\xff", 14), (b"\xc3", 14), (b"\xed\xa0\x80", 14), (b"ok \xe9", 17)],
    ids=["ff", "truncated", "surrogate-bytes", "latin1"],
)
def test_invalid_utf8(validate: Callable[..., Outcome], bad: bytes, col: int) -> None:
    assert_located(validate(HEAD + b"description: " + bad + b"\n" + GOOD_JOBS), "RL101", line=3, col=col)


def test_an_escaped_lone_surrogate(validate: Callable[..., Outcome]) -> None:
    assert_located(validate(HEAD + b'description: "\\ud800"\n' + GOOD_JOBS), "RL101", line=3)


# --- keys and names -----------------------------------------------------------------------------


@pytest.mark.parametrize("key", [b"1", b"true", b"null", b"[a, b]", b"{a: 1}", b"1.5"])
def test_keys_that_are_not_strings(validate: Callable[..., Outcome], key: bytes) -> None:
    spec = HEAD + b"jobs:\n  " + key + b": {script: echo}\n  ok: {script: echo}\n"
    assert_located(validate(spec), "RL107", line=4)


@pytest.mark.parametrize(
    "name",
    [b"a.b", b"-a", b"''", b"'a b'", b"'train[x=1]'", "名前".encode(), b'"a\\u202eb"', b"'a/../b'"],
)
def test_odd_job_names(validate: Callable[..., Outcome], name: bytes) -> None:
    outcome = validate(HEAD + b"jobs:\n  " + name + b": {script: echo}\n")
    assert_located(outcome, "RL208", line=4, col=3)
    assert re.search(r"invalid job name '.*': \S", outcome.stdout), outcome.stdout  # and says why
    assert "\u202e" not in outcome.stdout


# --- the things that crashed `run` --------------------------------------------------------------


def test_an_if_that_would_crash_the_run(validate: Callable[..., Outcome]) -> None:
    spec = HEAD + b"params: {s: x}\njobs:\n  a:\n    script: echo\n    if: 1 < params.s\n"
    assert_located(validate(spec), "RL404", line=7, col=11)


def test_a_long_if(validate: Callable[..., Outcome]) -> None:
    spec = HEAD + b"jobs:\n  a:\n    script: echo\n    if: " + b"true and " * 20_000 + b"true\n"
    assert_located(validate(spec), "RL401", line=6)


def test_non_finite_params(validate: Callable[..., Outcome]) -> None:
    spec = HEAD + b"params:\n  f: .nan\n  g: {type: float, default: -.inf}\njobs:\n  a: {script: echo}\n"
    outcome = validate(spec)
    assert_located(outcome, "RL507", line=4, col=6)
    assert [ln for ln, _, rl in outcome.located() if rl == "RL507"] == [4, 5]


def test_matrix_paths_that_escape_or_collide(validate: Callable[..., Outcome]) -> None:
    spec = HEAD + (
        b"jobs:\n  a:\n    script: echo\n    matrix: {d: [ok, ../../../x], n: [1, '1'], seed: [1, 2]}\n"
        b"    outputs:\n      o: {path: 'out/${{ matrix.d }}.txt'}\n"
    )
    outcome = validate(spec)
    assert_located(outcome, "RL506", line=8, col=22)
    assert_located(outcome, "RL511", line=6, col=42)
    assert_located(outcome, "RL207", line=8, col=17)


@pytest.mark.parametrize("command", [["run", "--dry-run"], ["run"]])
def test_deep_nesting_through_run(tmp_path: Path, command: list[str]) -> None:
    """`run` reads the spec the same way: RL108, exit 2, and nothing written outside the workspace."""
    home = tmp_path / "home"
    home.mkdir()
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "reefline.yaml").write_bytes(HEAD + b"jobs:\n  a:\n    script: " + b"{" * 25_000 + b"\n")
    outside = _tree(tmp_path) - {str(p.relative_to(tmp_path)) for p in workspace.rglob("*")}
    base = without_reefline_settings()
    result = subprocess.run(
        [REEFLINE, *command],
        cwd=workspace,
        env={**base, "HOME": str(home), "NO_COLOR": "1"},
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    text = result.stdout.decode() + result.stderr.decode()
    assert result.returncode == 2, text
    assert "Traceback" not in text
    assert "reefline.yaml:5:" in text and "[RL108]" in text, text
    after = _tree(tmp_path) - {str(p.relative_to(tmp_path)) for p in workspace.rglob("*")}
    assert after == outside


@pytest.mark.parametrize(
    ("spec", "line", "col"),
    [
        (b'version: 1\nname: n\nvariables:\n  V: "a\\0b"\njobs:\n  a:\n    script: [echo]\n', 4, 8),
        (b'version: 1\nname: n\njobs:\n  a:\n    matrix: {x: ["p\\0q"]}\n    script: [echo]\n', 5, 20),
        (b'version: 1\nname: n\njobs:\n  a:\n    env: {E: "\\0"}\n    script: [echo]\n', 5, 15),
        (b'version: 1\nname: n\njobs:\n  a:\n    script: ["echo \\0"]\n', 5, 20),
    ],
)
def test_escaped_nul_bytes_that_would_reach_a_job(
    validate: Callable[..., Outcome], spec: bytes, line: int, col: int
) -> None:
    """A NUL in a value a job receives (env, matrix, script) is refused before anything runs."""
    assert_located(validate(spec), "RL106", line, col)
