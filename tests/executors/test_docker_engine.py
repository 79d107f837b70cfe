"""``executor: docker`` end to end: ``reefline run`` as a subprocess against a real Docker engine."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest

from reefline.executors import docker_labels
from tests.docker_support import BUSYBOX, busybox_rootfs, import_image

REEFLINE = str(Path(sys.executable).with_name("reefline"))


def reefline(project: Path, url: str, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR", "FORCE_COLOR")}
    env["DOCKER_HOST"] = url
    return subprocess.run(
        [REEFLINE, *args], cwd=project, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def show(project: Path, url: str) -> dict[str, Any]:
    result = reefline(project, url, "show", "last", "--json")
    assert result.returncode == 0, result.stderr
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


def jobs_of(project: Path, url: str) -> dict[str, dict[str, Any]]:
    return {job["name"]: job for job in show(project, url)["jobs"]}


SPEC = f"""\
version: 1
name: boxed
defaults:
  image: {{name: {BUSYBOX}, pull: never}}
jobs:
  make:
    resources: {{cpus: 0.5, memory: 64Mi}}
    env: {{GREETING: hello}}
    script:
      - mkdir -p out
      - echo "$GREETING from $(id -u):$(id -g)" > out/a.txt
      - cat /sys/fs/cgroup/memory/memory.limit_in_bytes > out/limit.txt
      - echo made
      - sleep 0.2  # stdout and stderr are copied apart: only lines further apart keep their order
      - echo warned >&2
    outputs:
      a: {{path: out/a.txt}}
      limit: {{path: out/limit.txt}}
  fail:
    script: [echo failing, exit 3]
  local:
    executor: local
    script: [echo "local job on the host"]
"""


def test_a_pipeline_runs_its_jobs_in_containers_and_on_the_host(docker_engine: str, tmp_path: Path) -> None:
    os.chown(tmp_path, 2345, 2346)
    (tmp_path / "reefline.yaml").write_text(SPEC)
    result = reefline(tmp_path, docker_engine, "run")
    assert result.returncode == 1, result.stdout + result.stderr
    jobs = jobs_of(tmp_path, docker_engine)
    assert jobs["make"]["state"] == "success"
    assert jobs["local"]["state"] == "success"
    assert jobs["fail"]["state"] == "failed"
    assert jobs["fail"]["reason"] == "exited with code 3"
    assert jobs["fail"]["attempt_history"][0]["exit_code"] == 3

    made = tmp_path / "out" / "a.txt"
    assert made.read_text() == "hello from 2345:2346\n"
    assert (made.stat().st_uid, made.stat().st_gid) == (2345, 2346)  # not root-owned
    assert (tmp_path / "out" / "limit.txt").read_text().strip() == str(64 * 1024**2)
    outputs = {o["name"]: o for o in jobs["make"]["outputs"]}
    assert outputs["a"]["sha256"] == hashlib.sha256(made.read_bytes()).hexdigest()

    logs = reefline(tmp_path, docker_engine, "logs", "last", "make").stdout.splitlines()
    assert logs[:2] == ["made", "warned"]
    assert reefline(tmp_path, docker_engine, "logs", "last", "local").stdout.splitlines() == [
        "local job on the host"
    ]


CACHED_SPEC = """\
version: 1
name: cached
jobs:
  build:
    image: {name: reefline-test/rebuilt:1, pull: never}
    script: [mkdir -p out, cat /etc/flavour > out/flavour.txt]
    outputs:
      flavour: {path: out/flavour.txt}
"""


def _flavoured_image(client: Any, tmp_path: Path, flavour: str) -> str:
    rootfs = tmp_path / f"rootfs-{flavour}.tar"
    with tarfile.open(busybox_rootfs()) as base, tarfile.open(rootfs, "w") as tar:
        for member in base.getmembers():
            tar.addfile(member, base.extractfile(member) if member.isfile() else None)
        data = flavour.encode() + b"\n"
        info = tarfile.TarInfo("etc/flavour")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return import_image(client, "reefline-test/rebuilt:1", rootfs)


def test_a_rebuilt_image_under_the_same_tag_invalidates_the_cache(
    docker_engine: str, docker_client: Any, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "reefline.yaml").write_text(CACHED_SPEC)
    first_id = _flavoured_image(docker_client, tmp_path, "vanilla")
    assert reefline(project, docker_engine, "run").returncode == 0
    assert reefline(project, docker_engine, "run").returncode == 0
    assert jobs_of(project, docker_engine)["build"]["state"] == "cached"

    assert "cached" in reefline(project, docker_engine, "run", "--dry-run").stdout

    second_id = _flavoured_image(docker_client, tmp_path, "chocolate")
    assert second_id != first_id
    planned = reefline(project, docker_engine, "run", "--dry-run").stdout
    assert "would run" in planned and "cached" not in planned, planned
    result = reefline(project, docker_engine, "run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert jobs_of(project, docker_engine)["build"]["state"] == "success"  # ran again
    assert (project / "out" / "flavour.txt").read_text() == "chocolate\n"


SERVICE_SPEC = f"""\
version: 1
name: with-services
jobs:
  integration:
    image: {{name: {BUSYBOX}, pull: never}}
    services:
      web:
        image: {{name: {BUSYBOX}, pull: never}}
        env: {{PAGE: served by web}}
        command: sh -c 'echo "$PAGE" > /tmp/index.html && exec httpd -f -p 8080 -h /tmp'
        ready: {{port: 8080, timeout: 20s}}
    script: [wget -q -O - http://web:8080/index.html]
"""


def test_services_are_reachable_by_name_from_the_job(docker_engine: str, tmp_path: Path) -> None:
    (tmp_path / "reefline.yaml").write_text(SERVICE_SPEC)
    result = reefline(tmp_path, docker_engine, "run")
    assert result.returncode == 0, result.stdout + result.stderr
    logs = reefline(tmp_path, docker_engine, "logs", "last", "integration").stdout
    assert "served by web" in logs
    assert "service web is ready (port 8080" in logs


MISSING_SPEC = """\
version: 1
name: missing
jobs:
  ghost:
    image: {name: reefline-test/ghost:1, pull: never}
    script: [true]
    outputs:
      x: {path: x.txt}
  unpulled:
    image: reefline-test/ghost:2
    script: [true]
"""


def test_a_missing_image_fails_the_job_naming_the_image(docker_engine: str, tmp_path: Path) -> None:
    (tmp_path / "reefline.yaml").write_text(MISSING_SPEC)
    result = reefline(tmp_path, docker_engine, "run")
    assert result.returncode == 1
    jobs = jobs_of(tmp_path, docker_engine)
    assert jobs["ghost"]["state"] == "failed"
    assert "image 'reefline-test/ghost:1' is not in the Docker engine" in jobs["ghost"]["reason"]
    assert jobs["unpulled"]["state"] == "failed"
    assert "image 'reefline-test/ghost:2' cannot be pulled" in jobs["unpulled"]["reason"]


TIMEOUT_SPEC = f"""\
version: 1
name: slow
jobs:
  slow:
    image: {{name: {BUSYBOX}, pull: never}}
    timeout: 1s
    script: [echo started, sleep 60]
"""


def test_a_job_timeout_kills_its_container(docker_engine: str, docker_client: Any, tmp_path: Path) -> None:
    (tmp_path / "reefline.yaml").write_text(TIMEOUT_SPEC)
    began = time.monotonic()
    result = reefline(tmp_path, docker_engine, "run")
    assert result.returncode == 1
    assert time.monotonic() - began < 30
    job = jobs_of(tmp_path, docker_engine)["slow"]
    assert job["state"] == "failed" and job["reason"] == "timed out after 1s"
    run_id = str(show(tmp_path, docker_engine)["id"])
    assert docker_client.containers.list(all=True, filters={"label": f"{docker_labels.RUN}={run_id}"}) == []


HANG_SPEC = f"""\
version: 1
name: hang
jobs:
  hang:
    image: {{name: {BUSYBOX}, pull: never}}
    script: [echo hanging, sleep 300]
"""


def _wait_for(predicate: Any, seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def test_containers_left_by_a_killed_reefline_are_removed_by_the_next_one(
    docker_engine: str, docker_client: Any, tmp_path: Path
) -> None:
    (tmp_path / "reefline.yaml").write_text(HANG_SPEC)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["DOCKER_HOST"] = docker_engine
    proc = subprocess.Popen(
        [REEFLINE, "run"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    owned_by_it = f"{socket.gethostname()}:{proc.pid}:"

    def running() -> list[Any]:
        jobs = docker_client.containers.list(filters={"label": f"{docker_labels.ROLE}=job"})
        return [c for c in jobs if c.labels.get(docker_labels.OWNER, "").startswith(owned_by_it)]

    try:
        leftover = _wait_for(running, 60)[0]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    leftover.reload()
    assert leftover.status == "running"  # the crash left it behind

    (tmp_path / "reefline.yaml").write_text(HANG_SPEC.replace("sleep 300", "true"))
    result = reefline(tmp_path, docker_engine, "run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert docker_client.containers.list(all=True, filters={"id": leftover.id}) == []


def test_the_schema_knows_the_container_keys(docker_engine: str, tmp_path: Path) -> None:
    result = reefline(tmp_path, docker_engine, "schema")
    assert result.returncode == 0, result.stderr
    job = json.loads(result.stdout)["$defs"]["Job"]["properties"]
    for key in ("executor", "image", "resources", "services", "network", "sandbox"):
        assert key in job, key


@pytest.mark.parametrize("key", ["image", "executor", "services", "resources"])
def test_the_container_keys_are_no_longer_not_supported_yet(key: str, tmp_path: Path) -> None:
    from reefline.spec import load_spec

    value = {
        "image": "image: busybox",
        "executor": "executor: local",
        "services": "image: busybox\n    services: {db: {image: busybox}}",
        "resources": "resources: {memory: 1Gi}",
    }[key]
    text = f"version: 1\nname: t\njobs:\n  a:\n    script: [true]\n    {value}\n"
    assert [d.format() for d in load_spec(text, "reefline.yaml").diagnostics] == []


SECRET = "tok-5e3a1f-in-a-container"
SECRET_SPEC = f"""\
version: 1
name: secretive
jobs:
  talk:
    image: {{name: {BUSYBOX}, pull: never}}
    script:
      - echo "token is $API_TOKEN"
      - echo "to stderr $API_TOKEN" >&2
      - printf '%s' "$API_TOKEN" | sha256sum
"""


def test_secrets_reach_the_container_and_are_masked_in_its_logs(
    docker_engine: str, store_engine: Any, tmp_path: Path
) -> None:
    from reefline.engine.routing import Executors
    from reefline.engine.runner import RunExecution
    from reefline.engine.states import JobState, RunState
    from reefline.executors.docker import DockerExecutor
    from reefline.services.compile import compile_text
    from reefline.services.types import RunOptions
    from reefline.store import repo
    from tests.engine.support import Recorder
    from tests.services.test_secrets import all_text

    compiled = compile_text(SECRET_SPEC, tmp_path / "reefline.yaml", RunOptions())
    with store_engine.begin() as conn:
        pipeline_id = repo.get_or_create_pipeline(
            conn, "secretive", str(tmp_path / "reefline.yaml"), time.time()
        )
        run_id = repo.create_run(
            conn,
            pipeline_id=pipeline_id,
            spec_text=SECRET_SPEC,
            spec_path=str(tmp_path / "reefline.yaml"),
            spec_hash=hashlib.sha256(SECRET_SPEC.encode()).hexdigest(),
            params={},
            workspace=str(tmp_path),
            options={},
            trigger="api",
            owner_host=socket.gethostname(),
            owner_pid=os.getpid(),
            now=time.time(),
        )
        job_ids = repo.create_jobs(
            conn,
            run_id,
            [
                {"name": "talk", "job": "talk", "stage": "default", "position": 0, "matrix": {}, "needs": []}
                | {"state": str(JobState.PENDING), "allow_failure": False}
            ],
        )
    recorder = Recorder()
    result = RunExecution(
        db=store_engine,
        run_id=run_id,
        plan=compiled.plan,
        job_ids=job_ids,
        states=dict.fromkeys(job_ids, JobState.PENDING),
        attempts={},
        workspace=tmp_path,
        executor=Executors(given={"docker": DockerExecutor(base_url=docker_engine)}),
        observer=recorder,
        parallelism=1,
        base_env={"PATH": os.environ["PATH"]},
        secrets={"API_TOKEN": SECRET},
    ).execute()
    assert result.state is RunState.SUCCESS, recorder.logs
    lines = [(stream, text) for _, stream, text in recorder.logs]
    assert ("stdout", "token is ****") in lines and ("stderr", "to stderr ****") in lines
    assert ("stdout", f"{hashlib.sha256(SECRET.encode()).hexdigest()}  -") in lines  # it had the value
    assert SECRET not in all_text(store_engine)


def test_ctrl_c_of_reefline_run_cancels_the_job_and_removes_its_container(
    docker_engine: str, docker_client: Any, tmp_path: Path
) -> None:
    (tmp_path / "reefline.yaml").write_text(HANG_SPEC)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["DOCKER_HOST"] = docker_engine
    proc = subprocess.Popen([REEFLINE, "run"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)
    owned_by_it = f"{socket.gethostname()}:{proc.pid}:"

    def running() -> list[Any]:
        jobs = docker_client.containers.list(filters={"label": f"{docker_labels.ROLE}=job"})
        return [c for c in jobs if c.labels.get(docker_labels.OWNER, "").startswith(owned_by_it)]

    container = _wait_for(running, 60)[0]
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    assert "hang canceled" in out
    assert docker_client.containers.list(all=True, filters={"id": container.id}) == []
