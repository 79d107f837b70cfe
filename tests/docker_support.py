"""A Docker engine for the tests, and a busybox image built without a registry.

``docker_engine()`` gives the ``DOCKER_HOST`` of an engine that answers: the one ``DOCKER_HOST``
names, else the default socket, else a private ``dockerd`` started here in a temp dir (needs root)
and stopped when the test process ends (``atexit``; the daemon also gets SIGTERM from the kernel
if the test process dies, through ``PR_SET_PDEATHSIG``). Each pytest-xdist worker starts its own
daemon in its own dirs. Without an engine the tests skip with the reason, under ``CI=true`` they fail.

``busybox_image(client, tag)`` imports a busybox-static rootfs (``docker import``); the rootfs tar is
cached under ``~/.cache/reefline-tests/``. Fixtures: ``docker_engine`` (session) and ``busybox``.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import io
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BUSYBOX = "reefline-test/busybox:latest"
CACHE = Path.home() / ".cache" / "reefline-tests"
READY_WITHIN = 30.0
_PR_SET_PDEATHSIG = 1

_engine: str | None = None
_engine_error: str | None = None


def _answers(base_url: str) -> bool:
    import docker

    try:
        client = docker.DockerClient(base_url=base_url, timeout=5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def _die_with_parent() -> None:
    # PR_SET_PDEATHSIG fires when the forking *thread* ends: start the daemon from the main thread.
    os.setsid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _remove_stale_daemon_dirs() -> None:
    """Dirs of private daemons whose test process was killed (the daemon got SIGTERM with it)."""
    for root in Path("/tmp").glob("rl-dockerd-*"):
        pidfile = root / "docker.pid"
        try:
            os.kill(int(pidfile.read_text().strip()), 0)
        except (OSError, ValueError):
            if pidfile.exists() or time.time() - root.stat().st_mtime > 600:
                shutil.rmtree(root, ignore_errors=True)


def _start_private_daemon() -> str:
    """A dockerd of our own, on a socket in a fresh temp dir; stopped at exit."""
    dockerd = shutil.which("dockerd") or "/usr/sbin/dockerd"
    if not os.path.exists(dockerd):
        raise RuntimeError("no Docker engine answers and there is no dockerd (apt-get install docker.io)")
    if os.geteuid() != 0:
        raise RuntimeError("no Docker engine answers, and starting a private dockerd needs root")
    _remove_stale_daemon_dirs()
    root = Path(tempfile.mkdtemp(prefix="rl-dockerd-", dir="/tmp"))  # short: a socket path has 108 bytes
    sock = root / "d.sock"
    log = open(root / "dockerd.log", "wb")  # noqa: SIM115 - open for the daemon's whole life
    proc = subprocess.Popen(
        [
            dockerd,
            "--host",
            f"unix://{sock}",
            "--data-root",
            str(root / "data"),
            "--exec-root",
            str(root / "exec"),
            "--pidfile",
            str(root / "docker.pid"),
            "--iptables=false",
            "--bridge=none",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent,  # noqa: PLW1509 - setsid + prctl only, before exec
    )

    def stop() -> None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        log.close()
        shutil.rmtree(root, ignore_errors=True)

    atexit.register(stop)
    url = f"unix://{sock}"
    deadline = time.monotonic() + READY_WITHIN
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (root / "dockerd.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the private dockerd exited with {proc.returncode}:\n{tail}")
        if sock.exists() and _answers(url):
            return url
        time.sleep(0.1)
    stop()
    raise RuntimeError(f"the private dockerd did not answer within {READY_WITHIN:g}s")


def docker_engine_url() -> str:
    """The ``DOCKER_HOST`` of an engine that answers (raises RuntimeError with the reason)."""
    global _engine, _engine_error
    if _engine is not None:
        return _engine
    if _engine_error is not None:
        raise RuntimeError(_engine_error)
    try:
        import docker  # noqa: F401
    except ImportError as exc:
        _engine_error = f"the docker SDK is not installed: {exc}"
        raise RuntimeError(_engine_error) from None
    candidates = [os.environ["DOCKER_HOST"]] if os.environ.get("DOCKER_HOST") else []
    candidates.append("unix:///var/run/docker.sock")
    for url in candidates:
        if _answers(url):
            _engine = url
            return url
    try:
        _engine = _start_private_daemon()
    except Exception as exc:
        _engine_error = str(exc)
        raise RuntimeError(_engine_error) from None
    return _engine


def require_docker() -> str:
    """The engine's URL; skips the test without one (fails under ``CI=true``)."""
    try:
        return docker_engine_url()
    except RuntimeError as exc:
        message = f"no Docker engine: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


def busybox_rootfs() -> Path:
    """A tar of a busybox-static rootfs (``/bin/busybox`` and its applets), cached."""
    CACHE.mkdir(parents=True, exist_ok=True)
    tar_path = CACHE / "busybox-rootfs.tar"
    if tar_path.exists():
        return tar_path
    busybox = shutil.which("busybox") or "/bin/busybox"
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout.split()
    partial = tar_path.with_suffix(f".{os.getpid()}.part")
    with tarfile.open(partial, "w") as tar:
        for folder in ("bin", "etc", "tmp", "workspace"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if folder == "tmp" else 0o755
            tar.addfile(info)
        tar.add(busybox, "bin/busybox")
        for applet in applets:
            if applet != "busybox":
                link = tarfile.TarInfo(f"bin/{applet}")
                link.type, link.linkname = tarfile.SYMTYPE, "busybox"
                tar.addfile(link)
        passwd = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n"
        info = tarfile.TarInfo("etc/passwd")
        info.size = len(passwd)
        tar.addfile(info, io.BytesIO(passwd))
    partial.replace(tar_path)
    return tar_path


def import_image(client: Any, name: str, rootfs: Path, changes: list[str] | None = None) -> str:
    """``docker import`` of ``rootfs`` as ``name``; returns the image id. The tarball is streamed
    (read whole, the iris rootfs grew the test process by 870 MB)."""
    repository, _, tag = name.rpartition(":")
    with open(rootfs, "rb") as f:
        client.api.import_image_from_data(
            f, repository=repository, tag=tag, changes=changes or ['CMD ["/bin/sh"]']
        )
    return str(client.images.get(name).id)


def busybox_image(client: Any, name: str = BUSYBOX) -> str:
    try:
        return str(client.images.get(name).id)
    except Exception:
        return import_image(client, name, busybox_rootfs())


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[str]:
    """``DOCKER_HOST`` of a live engine with the busybox test image in it."""
    url = require_docker()
    import docker

    client = docker.DockerClient(base_url=url)
    busybox_image(client)
    client.close()
    yield url


@pytest.fixture
def docker_client(docker_engine: str) -> Iterator[Any]:
    import docker

    client = docker.DockerClient(base_url=docker_engine)
    yield client
    client.close()
