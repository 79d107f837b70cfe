"""Per-job overhead of LocalExecutor against bare subprocess spawning (and, optionally, of the
sandbox against bare ``bwrap``, and of DockerExecutor against a bare ``docker run``).

    .venv/bin/python bench/executor_overhead.py [--jobs 300] [--python] [--sandbox]
        [--docker [--docker-jobs 100]] [--rounds 5]

Budget (ARCHITECTURE / engine brief): the executor may add < 3 ms per job over bare spawning.
``local`` runs ``bash --noprofile --norc -eo pipefail -c true`` (what a one-line script compiles to),
so the fair baseline is ``subprocess.run(["bash", "-c", "true"])``; ``sh -c true`` shows how much
of the time is bash itself. Threads: jobs split over N threads, wall time divided by job count.

``--sandbox``: ``local`` with ``sandbox: true`` against the same ``bwrap`` argv run bare.
``--docker``: the docker executor running ``true`` in the busybox test image against a bare
``docker run --rm`` of the same image with the same mount, working directory and network (the CLI,
and the SDK's ``containers.run``), on ``--docker-jobs`` jobs. The engine is ``DOCKER_HOST``, else a
private dockerd started for the bench (``tests/docker_support.py``; needs root).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from reefline.executors.base import StepContext, Stream
from reefline.executors.local import LocalExecutor
from reefline.plan.ir import ImageRef, PythonCommand, ShellCommand, Step

REPO = Path(__file__).resolve().parents[1]


def _sink(stream: Stream, ts: float, line: str) -> None:
    if stream != "stdout":  # `true` prints nothing: whatever comes is why a job failed
        print(f"{stream}: {line}", file=sys.stderr)


def timed(job: Callable[[], object], jobs: int, threads: int) -> float:
    """Milliseconds of wall time per job."""
    per_thread = [jobs // threads + (1 if i < jobs % threads else 0) for i in range(threads)]

    def work(n: int) -> None:
        for _ in range(n):
            job()

    workers = [threading.Thread(target=work, args=(n,)) for n in per_thread]
    t0 = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return (time.perf_counter() - t0) * 1000 / jobs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--python", action="store_true", help="also time a PythonCommand job")
    parser.add_argument("--sandbox", action="store_true", help="also time sandboxed local jobs (bwrap)")
    parser.add_argument("--docker", action="store_true", help="also time the docker executor")
    parser.add_argument("--docker-jobs", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per case (median)")
    args = parser.parse_args()

    workspace = Path(tempfile.mkdtemp(prefix="reefline-bench-"))
    (workspace / "bench_mod.py").write_text("def noop():\n    pass\n")
    ctx = StepContext(run_id=1, attempt=1, workspace=workspace, env=dict(os.environ))
    executor = LocalExecutor()
    shell = Step(id="t", job="t", stage="b", command=ShellCommand(("true",)), env=(), needs=())
    python = Step(id="p", job="p", stage="b", command=PythonCommand("bench_mod:noop"), env=(), needs=())

    def local_job(step: Step = shell) -> None:
        handle = executor.start(step, ctx, _sink)
        result = executor.wait(handle)
        executor.destroy(handle)
        assert result.ok, result

    cases: list[tuple[str, Callable[[], object]]] = [
        ("bare subprocess.run bash -c true", lambda: subprocess.run(["bash", "-c", "true"], check=True)),
        ("bare subprocess.run sh -c true", lambda: subprocess.run(["sh", "-c", "true"], check=True)),
        ("LocalExecutor bash script 'true'", local_job),
    ]
    if args.python:
        cases += [
            (
                "bare subprocess.run python -c pass",
                lambda: subprocess.run([sys.executable, "-c", "pass"], check=True),
            ),
            ("LocalExecutor PythonCommand noop", lambda: local_job(python)),
        ]
    if args.sandbox:
        cases += sandbox_cases(shell, ctx, workspace)
    counts = {
        label: args.jobs if "python" not in label.lower() else max(args.jobs // 5, 20) for label, _ in cases
    }
    if args.docker:
        docker = docker_cases(workspace)
        cases += docker
        counts |= {label: args.docker_jobs for label, _ in docker}
    for _, job in cases:  # warm up caches and the page cache
        for _ in range(10):
            job()
    python = sys.version.split()[0]
    rounds = max(1, args.rounds)
    print(
        f"{args.jobs} jobs ({args.docker_jobs} for docker) per case in {rounds} interleaved rounds, "
        f"median of the rounds; {os.cpu_count()} CPUs, Python {python}"
    )
    # Round-robin over the cases, so a burst of load on a shared machine hits every case alike.
    per_round: dict[tuple[str, int], list[float]] = {}
    for _ in range(rounds):
        for label, job in cases:
            for threads in (1, 2):
                n = max(1, counts[label] // rounds)
                per_round.setdefault((label, threads), []).append(timed(job, n, threads))
    print(f"{'case':48} {'1 thread':>12} {'2 threads':>12}")
    for label, _ in cases:
        seq, par = (statistics.median(per_round[label, t]) for t in (1, 2))
        print(f"{label:48} {seq:9.3f} ms {par:9.3f} ms")


def sandbox_cases(shell: Step, ctx: StepContext, workspace: Path) -> list[tuple[str, Callable[[], object]]]:
    from dataclasses import replace

    from reefline.executors.sandbox import sandboxed_argv

    executor = LocalExecutor()
    boxed = replace(shell, sandbox=True)
    bare = sandboxed_argv(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", "true"], boxed, workspace
    )

    def sandboxed_job() -> None:
        handle = executor.start(boxed, ctx, _sink)
        result = executor.wait(handle)
        executor.destroy(handle)
        assert result.ok, result

    return [
        ("bare bwrap … bash -c true", lambda: subprocess.run(bare, check=True)),
        ("LocalExecutor sandboxed bash 'true'", sandboxed_job),
    ]


def docker_cases(workspace: Path) -> list[tuple[str, Callable[[], object]]]:
    import docker

    sys.path.insert(0, str(REPO))
    from reefline.executors.docker import WORKSPACE, DockerExecutor
    from tests.docker_support import BUSYBOX, busybox_image, docker_engine_url

    url = docker_engine_url()
    client = docker.DockerClient(base_url=url)
    busybox_image(client)
    executor = DockerExecutor(base_url=url)
    step = Step(
        id="d",
        job="d",
        stage="b",
        command=ShellCommand(("true",)),
        env=(),
        needs=(),
        executor="docker",
        image=ImageRef(BUSYBOX, "never"),
    )
    ctx = StepContext(run_id=1, attempt=1, workspace=workspace, env={}, job_env={})
    mount = f"{workspace}:{WORKSPACE}"
    cli = ["docker", "run", "--rm", "--network", "none", "-v", mount, "-w", WORKSPACE, BUSYBOX]
    cli += ["/bin/sh", "-c", "true"]
    env = {**os.environ, "DOCKER_HOST": url}

    def sdk_run() -> None:
        client.containers.run(
            BUSYBOX,
            ["/bin/sh", "-c", "true"],
            remove=True,
            network_mode="none",
            volumes={str(workspace): {"bind": WORKSPACE, "mode": "rw"}},
            working_dir=WORKSPACE,
        )

    def docker_job() -> None:
        handle = executor.start(step, ctx, _sink)
        result = executor.wait(handle)
        executor.destroy(handle)
        assert result.ok, result

    return [
        ("bare docker run --rm (CLI) sh -c true", lambda: subprocess.run(cli, check=True, env=env)),
        ("bare containers.run (SDK) sh -c true", sdk_run),
        ("DockerExecutor script 'true'", docker_job),
    ]


if __name__ == "__main__":
    main()
