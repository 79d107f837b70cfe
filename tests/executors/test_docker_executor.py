"""The docker executor against a real engine (``tests/docker_support.py``): the protocol's promises."""

from __future__ import annotations

import os
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reefline.executors import docker_labels
from reefline.executors.base import StartError, StepContext, StepResult
from reefline.executors.docker import DockerExecutor, DockerHandle
from reefline.plan.ir import ImageRef, Readiness, Service, ShellCommand, Step
from tests.docker_support import BUSYBOX, import_image

Line = tuple[str, float, str]
_run_ids = iter(range(900_000, 1_000_000))


@pytest.fixture
def executor(docker_engine: str) -> Iterator[DockerExecutor]:
    yield DockerExecutor(base_url=docker_engine, grace=1.0)


def step(*lines: str, step_id: str = "job", **fields: Any) -> Step:
    fields.setdefault("image", ImageRef(BUSYBOX, "never"))
    return Step(id=step_id, job=step_id, stage="s", command=ShellCommand(lines), env=(), needs=(), **fields)


def context(workspace: Path, **env: str) -> StepContext:
    return StepContext(next(_run_ids), 1, workspace, {"PATH": "/engine/only", **env}, dict(env))


def run(executor: DockerExecutor, s: Step, ctx: StepContext) -> tuple[StepResult, list[Line]]:
    lines: list[Line] = []
    handle = executor.start(s, ctx, lambda *line: lines.append(line))
    try:
        return executor.wait(handle), lines
    finally:
        executor.destroy(handle)


def ours(client: Any, run_id: int) -> list[Any]:
    return client.containers.list(all=True, filters={"label": f"{docker_labels.RUN}={run_id}"})


def test_both_streams_arrive_live_and_in_order_with_the_exit_code(
    executor: DockerExecutor, tmp_path: Path
) -> None:
    s = step("echo one", "sleep 0.3", "echo two >&2", "sleep 0.3", "echo three", "sleep 1", "exit 3")
    result, lines = run(executor, s, context(tmp_path))
    assert result.exit_code == 3 and result.error == "exited with code 3" and not result.ok
    assert [(stream, text) for stream, _, text in lines] == [
        ("stdout", "one"),
        ("stderr", "two"),
        ("stdout", "three"),
    ]
    # live: each line was logged when it was written, not when the container ended
    assert lines[-1][1] <= result.finished_at - 0.8


def test_the_container_gets_the_job_env_the_workspace_and_the_workspace_owner(
    executor: DockerExecutor, tmp_path: Path
) -> None:
    os.chown(tmp_path, 4321, 4322)
    s = step('echo "$GREETING|$PATH|$REEFLINE_WORKSPACE|$(pwd)|$(id -u):$(id -g)"', "echo data > out.txt")
    result, lines = run(executor, s, context(tmp_path, GREETING="hi"))
    assert result.ok, lines
    greeting, path, workspace, cwd, user = lines[0][2].split("|")
    assert (greeting, workspace, cwd, user) == ("hi", "/workspace", "/workspace", "4321:4322")
    assert "/engine/only" not in path  # the engine's own environment stays out
    written = tmp_path / "out.txt"
    assert written.read_text() == "data\n"
    assert (written.stat().st_uid, written.stat().st_gid) == (4321, 4322)


def test_a_script_stops_at_its_first_failing_line_and_a_pipe_fails(
    executor: DockerExecutor, tmp_path: Path
) -> None:
    result, lines = run(executor, step("false | cat", "echo not reached"), context(tmp_path))
    assert result.exit_code == 1 and lines == []


def test_timeout_stops_the_container(executor: DockerExecutor, docker_client: Any, tmp_path: Path) -> None:
    ctx = context(tmp_path)
    began = time.monotonic()
    result, lines = run(executor, step("echo going", "sleep 60", timeout=1.0), ctx)
    assert result.timed_out and result.error == "timed out after 1s"
    assert time.monotonic() - began < 10
    assert ("stdout", "going") in [(s, t) for s, _, t in lines]
    assert ours(docker_client, ctx.run_id) == []


def test_cancel_from_another_thread_stops_it_and_destroy_removes_it(
    executor: DockerExecutor,
    docker_client: Any,
    tmp_path: Path,
) -> None:
    ctx = context(tmp_path)
    lines: list[Line] = []
    handle = executor.start(
        step("trap 'echo bye; exit 7' TERM", "sleep 60 & wait"), ctx, lambda *x: lines.append(x)
    )
    assert len(ours(docker_client, ctx.run_id)) == 1
    threading.Timer(0.5, executor.cancel, (handle, 5.0)).start()
    result = executor.wait(handle)
    executor.cancel(handle)  # again, after the end: nothing happens
    executor.destroy(handle)
    executor.destroy(handle)  # idempotent
    assert result.canceled and not result.ok
    assert result.exit_code == 7  # SIGTERM reached the script (through docker-init)
    assert "bye" in [t for _, _, t in lines]
    assert ours(docker_client, ctx.run_id) == []


def test_resource_limits_are_applied(executor: DockerExecutor, tmp_path: Path) -> None:
    from reefline.plan.ir import Resources

    s = step(
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes",
        "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us",
        resources=Resources(cpus=0.5, memory_bytes=64 * 1024**2),
    )
    result, lines = run(executor, s, context(tmp_path))
    assert result.ok, lines
    memory, quota, period = (int(t) for _, _, t in lines)
    assert memory == 64 * 1024**2
    assert quota / period == 0.5


def test_a_job_without_network_has_none_and_bridge_gives_one(
    executor: DockerExecutor, tmp_path: Path
) -> None:
    _, lines = run(executor, step("ls /sys/class/net"), context(tmp_path))
    assert [t for _, _, t in lines] == ["lo"]
    _, lines = run(executor, step("ls /sys/class/net", network="bridge"), context(tmp_path))
    assert sorted(t for _, _, t in lines) == ["eth0", "lo"]


def test_services_answer_by_name_and_are_removed_after(
    executor: DockerExecutor,
    docker_client: Any,
    tmp_path: Path,
) -> None:
    web = Service(
        "web",
        ImageRef(BUSYBOX, "never"),
        (("PAGE", "hello from web"),),
        ("sh", "-c", 'sleep 0.5; echo "$PAGE" > /tmp/index.html; exec httpd -f -p 8080 -h /tmp'),
        Readiness(port=8080, timeout=10),
    )
    ctx = context(tmp_path)
    result, lines = run(executor, step("wget -q -O - http://web:8080/index.html", services=(web,)), ctx)
    assert result.ok, lines
    texts = [t for _, _, t in lines]
    assert texts[0].startswith("service web is ready (port 8080")
    assert texts[-1] == "hello from web"
    assert ours(docker_client, ctx.run_id) == []
    assert docker_client.networks.list(filters={"label": f"{docker_labels.RUN}={ctx.run_id}"}) == []


def test_a_service_that_never_gets_ready_fails_the_start_naming_it(
    executor: DockerExecutor,
    docker_client: Any,
    tmp_path: Path,
) -> None:
    db = Service(
        "db",
        ImageRef(BUSYBOX, "never"),
        (),
        ("sh", "-c", "echo booting; sleep 60"),
        Readiness(port=5432, timeout=1),
    )
    ctx = context(tmp_path)
    with pytest.raises(
        StartError, match=r"(?s)service 'db' \(.*busybox.*\) was not ready within 1s \(port 5432\).*booting"
    ):
        executor.start(step("true", services=(db,)), ctx, lambda *x: None)
    assert ours(docker_client, ctx.run_id) == []


def test_a_missing_image_is_a_start_error_naming_it(executor: DockerExecutor, tmp_path: Path) -> None:
    missing = step("true", image=ImageRef("reefline-test/missing:1", "never"))
    with pytest.raises(
        StartError, match=r"image 'reefline-test/missing:1' is not in the Docker engine.*never"
    ):
        executor.start(missing, context(tmp_path), lambda *x: None)
    unpullable = step("true", image=ImageRef("reefline-test/missing:1", "if-not-present"))
    with pytest.raises(StartError, match=r"image 'reefline-test/missing:1' cannot be pulled"):
        executor.start(unpullable, context(tmp_path), lambda *x: None)


def test_pull_always_fails_clearly_without_a_registry(executor: DockerExecutor) -> None:
    with pytest.raises(
        StartError,
        match=r"image 'reefline-test/busybox:latest' cannot be pulled \(pull: always\).*no registry",
    ):
        executor.resolve_image(step("true", image=ImageRef(BUSYBOX, "always")))


def test_an_image_without_a_shell_says_so(
    executor: DockerExecutor, docker_client: Any, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.tar"
    with tarfile.open(empty, "w") as tar:
        info = tarfile.TarInfo("etc")
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    import_image(docker_client, "reefline-test/noshell:1", empty)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    no_shell = step("true", image=ImageRef("reefline-test/noshell:1", "never"))
    result, _ = run(executor, no_shell, context(workspace))
    assert result.exit_code == 127
    assert result.error == (
        "image 'reefline-test/noshell:1' cannot run the job: exec /bin/sh failed: No such file or directory"
    )


def test_leftovers_of_a_dead_owner_are_removed_and_live_ones_kept(
    docker_engine: str,
    docker_client: Any,
) -> None:
    dead = f"{os.uname().nodename}:{2**22 + 17}:1"  # a pid above pid_max: never alive
    elsewhere = f"another-host:{os.getpid()}:1"
    run_id = next(_run_ids)
    made = {}
    for who, owner in (("dead", dead), ("elsewhere", elsewhere), ("alive", docker_labels.owner())):
        made[who] = docker_client.containers.create(
            BUSYBOX, ["sleep", "60"], labels={docker_labels.OWNER: owner, docker_labels.RUN: str(run_id)}
        ).id
    net = docker_client.networks.create(f"reefline-left-{run_id}", labels={docker_labels.OWNER: dead})
    fresh = DockerExecutor(base_url=docker_engine)
    assert fresh.api is not None  # first use cleans up
    left = {c.id for c in ours(docker_client, run_id)}
    try:
        assert left == {made["elsewhere"], made["alive"]}
        assert docker_client.networks.list(names=[net.name]) == []
    finally:
        for container_id in left:
            docker_client.api.remove_container(container_id, force=True)


def test_reattach_finds_a_running_attempt_after_a_restart(
    executor: DockerExecutor,
    docker_engine: str,
    tmp_path: Path,
) -> None:
    ctx = context(tmp_path)
    s = step("sleep 1", "echo after the restart")
    handle = executor.start(s, ctx, lambda *x: None)
    other = DockerExecutor(base_url=docker_engine)  # the engine's next life
    lines: list[Line] = []
    again = other.reattach(s, ctx, lambda *x: lines.append(x))
    assert isinstance(again, DockerHandle) and again.container_id == handle.container_id
    result = other.wait(again)
    other.destroy(again)
    executor.destroy(handle)
    assert result.ok and [t for _, _, t in lines] == ["after the restart"]
    assert other.reattach(s, ctx, lambda *x: None) is None


def test_odd_bytes_long_lines_and_a_last_line_without_newline(
    executor: DockerExecutor, tmp_path: Path
) -> None:
    s = step(
        "head -c 150000 /dev/zero | tr '\\0' a; echo",
        "printf '\\377\\376 not utf-8\\r\\n'",
        "printf 'the end, no newline'",
    )
    result, lines = run(executor, s, context(tmp_path))
    assert result.ok, lines
    texts = [t for _, _, t in lines]
    assert [len(t) for t in texts[:3]] == [64 * 1024, 64 * 1024, 150000 - 128 * 1024]
    assert texts[3] == "\ufffd\ufffd not utf-8"
    assert texts[4] == "the end, no newline"


def test_setting_up_a_taken_over_run_removes_what_its_dead_engine_left(
    executor: DockerExecutor,
    docker_client: Any,
    tmp_path: Path,
) -> None:
    from reefline.executors.base import RunContext

    run_id = next(_run_ids)
    workspace = str(tmp_path.resolve())

    def leftover(owner: str, where: str) -> str:
        found = {
            docker_labels.OWNER: owner,
            docker_labels.RUN: str(run_id),
            docker_labels.WORKSPACE: where,
        }
        return str(docker_client.containers.create(BUSYBOX, ["sleep", "60"], labels=found).id)

    dead_elsewhere = leftover("engine-host-2:4242:77", workspace)
    other_database = leftover("engine-host-2:4242:77", "/some/other/workspace")
    try:
        executor.setup_run(RunContext(run_id, tmp_path, ()))
        assert {c.id for c in ours(docker_client, run_id)} == {other_database}
        assert dead_elsewhere not in {c.id for c in ours(docker_client, run_id)}
    finally:
        docker_client.api.remove_container(other_database, force=True)


def test_a_command_readiness_waits_and_a_service_that_exits_fails_the_start(
    executor: DockerExecutor, tmp_path: Path
) -> None:
    slow = Service(
        "slow",
        ImageRef(BUSYBOX, "never"),
        (),
        ("sh", "-c", "sleep 1; touch /tmp/up; sleep 60"),
        Readiness(command="test -e /tmp/up", timeout=15),
    )
    began = time.monotonic()
    result, lines = run(executor, step("echo job ran", services=(slow,)), context(tmp_path))
    assert result.ok, lines
    assert time.monotonic() - began >= 1.0
    texts = [t for _, _, t in lines]
    assert texts[0].startswith("service slow is ready (`test -e /tmp/up`") and texts[-1] == "job ran"

    dying = Service(
        "dying", ImageRef(BUSYBOX, "never"), (), ("sh", "-c", "echo bye; exit 4"), Readiness(port=1)
    )
    with pytest.raises(
        StartError, match=r"(?s)service 'dying' \(.*\) exited with code 4 before it was ready.*bye"
    ):
        executor.start(step("true", services=(dying,)), context(tmp_path), lambda *x: None)


def test_a_container_removed_under_a_job_fails_it_with_the_reason(
    executor: DockerExecutor, docker_client: Any, tmp_path: Path
) -> None:
    handle = executor.start(step("sleep 60"), context(tmp_path), lambda *x: None)
    threading.Timer(0.5, docker_client.api.remove_container, (handle.container_id,), {"force": True}).start()
    result = executor.wait(handle)
    executor.destroy(handle)
    # killed by the removal (or gone before the engine answered): either way the job failed, saying why
    assert result.error == "exited with code 137 (SIGKILL)" or (result.error or "").startswith(
        "lost the Docker engine: "
    )


def test_a_script_too_big_for_an_argument_runs_from_a_mounted_file(
    executor: DockerExecutor, tmp_path: Path
) -> None:
    padding = [f": {'x' * 60} {i}" for i in range(3000)]  # ~200 KiB: over the 128 KiB per argument
    result, lines = run(executor, step("echo first", *padding, "echo last"), context(tmp_path))
    assert result.ok, lines[-3:]
    assert [t for _, _, t in lines] == ["first", "last"]
    assert not list(Path(tempfile.gettempdir()).glob("reefline-docker-*"))  # its folder went with it
