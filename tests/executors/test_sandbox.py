"""The bubblewrap sandbox of local jobs, through the real executor and a real ``bwrap``."""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from exec_support import leftovers, make_step, run

from reefline.executors.base import StepContext
from reefline.executors.local import INLINE_MAX, LocalExecutor
from reefline.executors.sandbox import BWRAP_ENV, SandboxUnavailable, bwrap_path
from reefline.plan.ir import PythonCommand, Step

pytestmark = pytest.mark.skipif(
    bwrap_path() is None and os.environ.get("CI") != "true", reason="bubblewrap (bwrap) is not installed"
)
BOXED = LocalExecutor(grace=0.5, sandbox="always")


@pytest.fixture
def outside() -> Iterator[Path]:
    """A folder the host may write, outside the workspace and outside /tmp (private inside)."""
    folder = Path.home() / ".cache" / "reefline-tests" / f"sandbox-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    yield folder
    shutil.rmtree(folder)


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP port on the host's 127.0.0.1 that accepts connections."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


def _connect_script(port: int) -> list[str]:
    code = f"import socket; socket.create_connection(('127.0.0.1', {port}), 2).close(); print('connected')"
    return [f'python3 -c "{code}"']


def test_no_network_inside(listener: int, ctx: StepContext) -> None:
    plain, _ = run(LocalExecutor(), make_step(_connect_script(listener)), ctx)
    assert plain.ok  # the port answers outside the sandbox
    boxed, logs = run(BOXED, make_step(_connect_script(listener)), ctx)
    assert boxed.exit_code == 1
    assert any("Network is unreachable" in line or "refused" in line for line in logs.of("stderr"))


def test_network_bridge_keeps_the_hosts_network(listener: int, ctx: StepContext) -> None:
    step = replace(make_step(_connect_script(listener)), network="bridge")
    result, logs = run(BOXED, step, ctx)
    assert result.ok, logs.lines
    assert logs.of("stdout") == ["connected"]


def test_writes_in_workspace_and_tmp_but_nowhere_else(
    ctx: StepContext, tmp_path: Path, outside: Path
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / ".reefline").mkdir()
    host_tmp_file = Path("/tmp") / f"reefline-sandbox-test-{os.getpid()}"
    host_tmp_file.write_text("host")
    job_tmp_file = Path("/tmp") / f"reefline-sandbox-job-{os.getpid()}"  # made inside the box only
    try:
        script = [
            "echo made > out.txt",
            f"echo scratch > {job_tmp_file} && cat {job_tmp_file}",
            f"test ! -e {host_tmp_file} && echo 'private tmp'",
            f"touch {outside}/x 2>&1 || echo 'outside denied'",
            "touch .reefline/reefline.db 2>&1 || echo 'store denied'",
            "touch /usr/evil 2>&1 || echo 'root denied'",
        ]
        result, logs = run(BOXED, make_step(script), replace(ctx, workspace=workspace))
    finally:
        host_tmp_file.unlink()
    assert result.ok, logs.lines
    stdout = logs.of("stdout")
    assert stdout[:2] == ["scratch", "private tmp"]
    assert "outside denied" in stdout and "store denied" in stdout and "root denied" in stdout
    assert (workspace / "out.txt").read_text() == "made\n"
    assert list(outside.iterdir()) == [] and not (workspace / ".reefline" / "reefline.db").exists()
    assert not job_tmp_file.exists()


def test_a_daemon_dies_with_the_job(ctx: StepContext, marker: str) -> None:
    script = ["(setsid nohup sleep 300 >/dev/null 2>&1 &)", "sleep 0.2", "echo started"]
    result, _ = run(BOXED, make_step(script), ctx)
    assert result.ok
    assert leftovers(marker, settle=3.0) == []


def test_the_job_sees_only_its_own_processes(ctx: StepContext) -> None:
    script = ["(setsid nohup sleep 300 >/dev/null 2>&1 &)", "sleep 0.2", "ps -e -o pid= | wc -l"]
    result, logs = run(BOXED, make_step(script), ctx)
    assert result.ok
    assert int(logs.of("stdout")[0]) <= 6  # the sandbox's own few processes, not the host's


def test_cancel_and_timeout_stop_the_sandbox(ctx: StepContext, marker: str) -> None:
    t0 = time.monotonic()
    result, _ = run(BOXED, make_step(["sleep 300"], timeout=0.3), ctx)
    assert result.timed_out and time.monotonic() - t0 < 10
    assert leftovers(marker, settle=3.0) == []


def test_python_steps_and_long_contexts_run_inside(ctx: StepContext) -> None:
    (ctx.workspace / "stepmod.py").write_text(
        "def main(params):\n    print(len(params['blob']))\n", encoding="utf-8"
    )
    blob = "x" * (INLINE_MAX + 10)  # goes through a file outside the workspace
    env = {**ctx.env, "REEFLINE_CONTEXT": json.dumps({"params": {"blob": blob}})}
    step = Step(id="py", job="py", stage="t", command=PythonCommand("stepmod:main"), env=(), needs=())
    result, logs = run(BOXED, step, replace(ctx, env=env))
    assert result.ok, logs.lines
    assert logs.of("stdout") == [str(len(blob))]


def test_on_a_laptop_only_steps_that_ask_are_sandboxed(ctx: StepContext, outside: Path) -> None:
    target = outside / "x"
    script = [f"touch {target} 2>/dev/null && echo wrote || echo denied"]
    laptop = LocalExecutor()
    _, plain_logs = run(laptop, make_step(script), ctx)
    assert target.exists()
    target.unlink()
    _, asked_logs = run(laptop, replace(make_step(script), sandbox=True), ctx)
    _, server_logs = run(BOXED, replace(make_step(script), sandbox=False), ctx)
    assert not target.exists()
    assert (plain_logs.of("stdout"), asked_logs.of("stdout")) == (["wrote"], ["denied"])
    assert server_logs.of("stdout") == ["denied"]  # a server ignores `sandbox: false`


def test_without_bwrap_a_sandboxed_step_fails_and_never_runs_unsandboxed(
    ctx: StepContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(BWRAP_ENV, "/nonexistent/bwrap")
    with pytest.raises(SandboxUnavailable, match=r"step s: it must run in the sandbox, but bubblewrap"):
        BOXED.start(make_step(["touch ran"]), ctx, lambda *_: None)
    assert not (ctx.workspace / "ran").exists()


def test_other_containers_mounts_are_left_out_of_the_sandbox(tmp_path: Path) -> None:
    """A directory holding an overlay or a namespace mount is bound child by child, without it."""
    from reefline.executors.sandbox import root_binds

    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "22 1 8:1 / / rw,relatime - ext4 /dev/vda rw\n"
        "90 22 0:50 / /var/lib/docker/overlay2/abc/merged rw,relatime - overlay overlay rw,lowerdir=x\n"
        "91 22 0:4 net:[4026532] /run/docker/netns/f00 rw - nsfs nsfs rw\n"
        "92 22 0:51 / /srv/with\\040space/merged rw - overlay overlay rw\n"
    )
    binds = root_binds(str(mountinfo))
    pairs = list(zip(binds[::3], binds[1::3], strict=True))
    bound = {path for flag, path in pairs if flag == "--ro-bind"}
    assert "/usr" in bound and "/etc" in bound  # whole, recursively
    assert "/var" not in bound and "/var/lib/docker/overlay2/abc/merged" not in bound
    assert not any(p.startswith(("/run", "/proc", "/dev", "/tmp")) for p in bound)
    if Path("/var/lib").is_dir():
        assert "/var/lib" not in bound and any(p.startswith("/var/") for p in bound)


def test_the_sandbox_dies_when_the_engine_is_killed(tmp_path: Path, marker: str) -> None:
    """SIGKILL of the engine process mid-job: --die-with-parent takes the sandbox, and the PID
    namespace every process in it (also one that daemonized)."""
    import subprocess
    import sys

    engine = (
        "import os, sys, time\n"
        "from reefline.executors.local import LocalExecutor\n"
        "from reefline.executors.base import StepContext\n"
        "from reefline.plan.ir import ShellCommand, Step\n"
        "step = Step(id='s', job='s', stage='t', command=ShellCommand(("
        "'(setsid nohup sleep 300 >/dev/null 2>&1 &)', 'sleep 300')), env=(), needs=())\n"
        f"ctx = StepContext(1, 1, __import__('pathlib').Path({str(tmp_path)!r}), dict(os.environ))\n"
        "h = LocalExecutor(sandbox='always').start(step, ctx, lambda *a: None)\n"
        "print(h.proc.pid, flush=True)\n"
        "time.sleep(300)\n"
    )
    env = {**os.environ, "REEFLINE_TEST_MARKER": marker}
    proc = subprocess.Popen([sys.executable, "-c", engine], env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    int(proc.stdout.readline())
    deadline = time.monotonic() + 10
    while len(leftovers(marker, settle=0)) < 4:  # the engine, bwrap (2) and the job's shells
        assert time.monotonic() < deadline, leftovers(marker, settle=0)
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    assert leftovers(marker, settle=5.0) == []
