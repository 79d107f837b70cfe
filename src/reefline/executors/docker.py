"""Runs steps in containers of a Docker engine (``DOCKER_HOST`` or the default socket), via the SDK.

One container per attempt, of the image id the engine hashed (``StepContext.image_id``) or that the
step's pull policy finds:

- the workspace is bind-mounted at ``/workspace``, the working directory; outputs are written there
  and hashed by the engine as usual; ``REEFLINE_WORKSPACE`` says ``/workspace``;
- the environment is the job's own (``StepContext.job_env``: its env, secrets, ``REEFLINE_*``),
  never the engine process's;
- a script runs as ``/bin/sh -c`` with ``set -e`` (and ``pipefail`` where the shell has it); a
  ``run:`` entry runs ``python3`` on Reefline's entry point file, mounted read-only (the image
  needs ``python3``, not Reefline);
- it runs as the invoking user's uid:gid (as root: the workspace owner's), so outputs are not
  root-owned; ``user=`` overrides;
- ``resources`` become the memory (no swap beyond it) and CPU limits; ``network: none`` (the
  default) has no network, ``bridge`` joins a network of the run's own; a job with services joins
  a network of its own (internal unless ``bridge``) where they answer by name;
- both streams are read live from the attach socket into the log sink; a cancel or a timeout stops
  the container (SIGTERM to ``docker-init``, SIGKILL after the grace); ``destroy`` removes it, its
  services and its network. Everything carries :mod:`~reefline.executors.docker_labels` labels,
  and what a killed Reefline left is removed on the executor's first use.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from reefline.executors import docker_labels, docker_services
from reefline.executors.base import (
    LogSink,
    RunContext,
    StartError,
    StepContext,
    StepHandle,
    StepResult,
    Stream,
)
from reefline.executors.docker_files import INLINE_MAX, MOUNT, JobFiles
from reefline.executors.docker_images import image_id
from reefline.executors.docker_logs import EOF_MARK, FrameReader, LineSplitter
from reefline.executors.entrypoint import CONTEXT_ENV, CONTEXT_FILE_ENV
from reefline.plan.ir import Network, PythonCommand, Step

WORKSPACE = "/workspace"
ENTRYPOINT = "/opt/reefline/entrypoint.py"
_ENTRYPOINT_FILE = Path(__file__).with_name("entrypoint.py")
_POLL = 0.2
StopReason = Literal["cancel", "timeout"]


@dataclass(eq=False)
class DockerHandle:
    step: Step
    ctx: StepContext
    log: LogSink
    container_id: str
    reader: FrameReader
    started_at: float
    network: docker_services.JobNetwork | None = None
    files: JobFiles = field(default_factory=JobFiles)
    stop_reason: StopReason | None = None
    stopper: threading.Thread | None = None
    destroyed: bool = False
    result: StepResult | None = None
    """Set when the first ``wait`` returns: a later one returns it at once."""
    init_failure: str | None = None
    """docker-init's line when it could not exec the command (no /bin/sh or python3 in the image)."""
    lock: threading.Lock = field(default_factory=threading.Lock)


class DockerExecutor:
    """``base_url``: the engine (default: ``DOCKER_HOST``, else the default socket). ``grace``:
    seconds between SIGTERM and SIGKILL. ``default_network``: for steps that name none. ``user``:
    ``uid:gid`` for every container (default: see the module's docstring). ``clean_leftovers``:
    remove what dead owners left, on first use (off for a look that must change nothing)."""

    name: ClassVar[str] = "docker"
    supports_cancel: ClassVar[bool] = True
    supports_timeout: ClassVar[bool] = True

    def __init__(
        self,
        base_url: str | None = None,
        grace: float = 5.0,
        default_network: Network = "none",
        user: str | None = None,
        clean_leftovers: bool = True,
    ) -> None:
        self.base_url = base_url
        self.grace = grace
        self.default_network: Network = default_network
        self.user = user
        self.clean_leftovers = clean_leftovers
        self._api: Any = None
        self._lock = threading.Lock()
        self._run_networks: dict[int, str] = {}
        self.removed_leftovers: list[str] = []

    # -- the engine -----------------------------------------------------------------------------

    @property
    def api(self) -> Any:
        """The SDK's low-level client, connected (and leftovers removed) on first use."""
        with self._lock:
            if self._api is None:
                self._api = self._connect()
                if self.clean_leftovers:
                    self.removed_leftovers = docker_labels.remove_leftovers(self._api)
            return self._api

    def _connect(self) -> Any:
        try:
            import docker
        except ImportError as exc:
            raise StartError(
                f"the docker executor needs the Docker SDK (pip install docker): {exc}"
            ) from None
        where = self.base_url or os.environ.get("DOCKER_HOST") or "the default socket"
        try:
            client = docker.APIClient(base_url=self.base_url) if self.base_url else docker.from_env().api
            client.ping()
        except Exception as exc:
            raise StartError(f"cannot reach the Docker engine at {where}: {exc}") from None
        return client

    # -- per run --------------------------------------------------------------------------------

    def setup_run(self, run: RunContext) -> None:
        api = self.api  # connects and cleans up before the run's first step
        docker_labels.remove_earlier_executions(api, run.run_id, _workspace_label(run.workspace))
        if any(self._network_of(s) == "bridge" and not s.services for s in run.steps):
            self._run_network(api, run.run_id, run.workspace)

    def teardown_run(self, run: RunContext) -> None:
        with self._lock:
            network = self._run_networks.pop(run.run_id, None)
        if network is not None and self._api is not None:
            import docker.errors

            with contextlib.suppress(docker.errors.NotFound):
                self._api.remove_network(network)

    def _run_network(self, api: Any, run_id: int, workspace: Path) -> str:
        with self._lock:
            name = self._run_networks.get(run_id)
            if name is None:
                name = f"reefline-{run_id}-{os.urandom(3).hex()}"
                labels = docker_labels.labels(run_id, "network", workspace=_workspace_label(workspace))
                api.create_network(name, driver="bridge", labels=labels)
                self._run_networks[run_id] = name
            return name

    def resolve_image(self, step: Step) -> str | None:
        return image_id(self.api, step.image) if step.image is not None else None

    # -- protocol -------------------------------------------------------------------------------

    def start(self, step: Step, ctx: StepContext, log: LogSink) -> DockerHandle:
        if step.image is None:
            raise StartError(f"job {step.id!r} runs with the docker executor but has no image")
        api = self.api
        image = ctx.image_id or image_id(api, step.image)
        suffix = os.urandom(3).hex()
        name = f"reefline-{ctx.run_id}-{step.slug}-{ctx.attempt}-{suffix}"
        labels = docker_labels.labels(
            ctx.run_id, "job", workspace=_workspace_label(ctx.workspace), step=step.slug, attempt=ctx.attempt
        )
        network: docker_services.JobNetwork | None = None
        container_id: str | None = None
        files = JobFiles()
        try:
            mode = self._network_of(step)
            if step.services:
                network = docker_services.create_job_network(api, name, labels, internal=mode != "bridge")
                docker_services.start_services(api, network, step, labels, log)
                network_mode = network.name
            elif mode == "bridge":
                network_mode = self._run_network(api, ctx.run_id, ctx.workspace)
            else:
                network_mode = "none"
            container_id = self._create(api, step, ctx, image, network_mode, name, labels, files)
            sock = api.attach_socket(container_id, params={"stdout": 1, "stderr": 1, "stream": 1, "logs": 1})
            reader = FrameReader(sock)
            started = time.time()
            try:
                api.start(container_id)
            except Exception:
                reader.close()
                raise
        except Exception as exc:
            self._remove(api, container_id)
            docker_services.remove(api, network)
            files.remove()
            if isinstance(exc, StartError):
                raise
            raise StartError(f"image {step.image.name!r}: the container did not start: {_say(exc)}") from None
        return DockerHandle(step, ctx, log, container_id, reader, started, network, files)

    def wait(self, handle: StepHandle) -> StepResult:
        h = _own(handle)
        if h.result is not None:
            return h.result

        def log(stream: Stream, ts: float, text: str) -> None:
            if stream == "stderr" and text.startswith("[FATAL tini") and " exec " in text:
                h.init_failure = text
            h.log(stream, ts, text)

        lines = LineSplitter(log)
        deadline = h.started_at + h.step.timeout if h.step.timeout is not None else None
        while True:
            try:
                chunk = h.reader.chunks.get(timeout=_POLL)
            except queue.Empty:
                chunk = ()  # type: ignore[assignment]
            if chunk is EOF_MARK:
                break
            if chunk:
                lines.feed(*chunk)
            if deadline is not None and time.time() >= deadline and h.stop_reason is None:
                h.log("system", time.time(), f"timed out after {h.step.timeout:g}s: stopping the container")
                self._stop(h, "timeout", self.grace)
        lines.flush()
        h.result = self._result(h)
        return h.result

    def cancel(self, handle: StepHandle, grace: float | None = None) -> None:
        h = _own(handle)
        with h.lock:
            if h.destroyed or h.stop_reason is not None:
                return
        h.log("system", time.time(), "canceled: stopping the container")
        self._stop(h, "cancel", self.grace if grace is None else grace)

    def destroy(self, handle: StepHandle) -> None:
        h = _own(handle)
        with h.lock:
            if h.destroyed:
                return
            h.destroyed = True
        api = self.api
        h.reader.close()
        self._remove(api, h.container_id)
        docker_services.remove(api, h.network)
        h.files.remove()

    def reattach(self, step: Step, ctx: StepContext, log: LogSink) -> DockerHandle | None:
        """The running container of attempt ``ctx.attempt`` of ``step`` in run ``ctx.run_id``."""
        api = self.api
        wanted = [
            f"{docker_labels.RUN}={ctx.run_id}",
            f"{docker_labels.WORKSPACE}={_workspace_label(ctx.workspace)}",
            f"{docker_labels.STEP}={step.slug}",
            f"{docker_labels.ATTEMPT}={ctx.attempt}",
            f"{docker_labels.ROLE}=job",
        ]
        found = api.containers(filters={"label": wanted, "status": "running"})
        if not found:
            return None
        container_id = found[0]["Id"]
        sock = api.attach_socket(container_id, params={"stdout": 1, "stderr": 1, "stream": 1, "logs": 0})
        started = _started_at(api.inspect_container(container_id))
        return DockerHandle(step, ctx, log, container_id, FrameReader(sock), started)

    # -- helpers --------------------------------------------------------------------------------

    def _network_of(self, step: Step) -> Network:
        return step.network or self.default_network

    def _create(  # noqa: PLR0917 - a private helper of start, its arguments in start's order
        self,
        api: Any,
        step: Step,
        ctx: StepContext,
        image: str,
        network_mode: str,
        name: str,
        labels: dict[str, str],
        files: JobFiles,
    ) -> str:
        env = dict(ctx.job_env if ctx.job_env is not None else ctx.env)
        env["REEFLINE_WORKSPACE"] = WORKSPACE
        env.pop(CONTEXT_FILE_ENV, None)
        context = env.get(CONTEXT_ENV)
        if context is not None and len(context.encode()) > INLINE_MAX:
            env[CONTEXT_FILE_ENV] = files.add("context.json", env.pop(CONTEXT_ENV))
        argv = _argv(step)
        if len(argv[-1].encode()) > INLINE_MAX and not isinstance(step.command, PythonCommand):
            argv = [argv[0], files.add("script.sh", argv[-1])]
        binds = {str(ctx.workspace.resolve()): {"bind": WORKSPACE, "mode": "rw"}}
        if isinstance(step.command, PythonCommand):
            binds[str(_ENTRYPOINT_FILE)] = {"bind": ENTRYPOINT, "mode": "ro"}
        if files.folder is not None:
            binds[str(files.folder)] = {"bind": MOUNT, "mode": "ro"}
        memory = step.resources.memory_bytes
        host_config = api.create_host_config(
            binds=binds,
            network_mode=network_mode,
            init=True,
            mem_limit=memory,
            memswap_limit=memory,
            nano_cpus=int(step.resources.cpus * 1e9) if step.resources.cpus else None,
        )
        created = api.create_container(
            image,
            command=argv,
            environment=env,
            working_dir=WORKSPACE,
            user=self.user or _user_for(ctx.workspace),
            name=name,
            labels=labels,
            host_config=host_config,
        )
        return str(created["Id"])

    def _stop(self, h: DockerHandle, reason: StopReason, grace: float) -> None:
        """Stop without waiting: SIGTERM, SIGKILL after ``grace``, in a thread of its own."""
        with h.lock:
            if h.stop_reason is not None or h.destroyed:
                return
            h.stop_reason = reason
        api = self.api

        def stop() -> None:
            with contextlib.suppress(Exception):  # gone already: nothing to stop
                if grace <= 0:
                    api.kill(h.container_id)
                else:
                    api.stop(h.container_id, timeout=max(1, round(grace)))

        h.stopper = threading.Thread(target=stop, name="reefline-docker-stop", daemon=True)
        h.stopper.start()

    def _result(self, h: DockerHandle) -> StepResult:
        try:
            status = self.api.wait(h.container_id)
            state = self.api.inspect_container(h.container_id)["State"]
        except Exception as exc:  # the engine went away (or removed the container) under the job
            return StepResult(None, h.started_at, time.time(), error=f"lost the Docker engine: {_say(exc)}")
        code = status.get("StatusCode")
        finished = time.time()
        exit_code: int | None = code if isinstance(code, int) else None
        if h.stop_reason == "timeout":
            error: str | None = f"timed out after {h.step.timeout:g}s"
        elif h.stop_reason == "cancel":
            error = "canceled"
        elif exit_code == 127 and h.init_failure is not None:
            assert h.step.image is not None
            error = f"image {h.step.image.name!r} cannot run the job: {h.init_failure.split('] ', 1)[-1]}"
        elif state.get("OOMKilled"):
            error = f"killed: out of memory (limit {h.step.resources.memory_bytes} bytes)"
        elif exit_code is not None and exit_code > 128 and _signal_name(exit_code - 128):
            error = f"exited with code {exit_code} ({_signal_name(exit_code - 128)})"
        elif exit_code != 0:
            error = f"exited with code {exit_code}"
        else:
            error = None
        return StepResult(
            exit_code=exit_code,
            started_at=h.started_at,
            finished_at=finished,
            error=error,
            timed_out=h.stop_reason == "timeout",
            canceled=h.stop_reason == "cancel",
        )

    @staticmethod
    def _remove(api: Any, container_id: str | None) -> None:
        if container_id is None:
            return
        import docker.errors

        try:
            api.remove_container(container_id, force=True, v=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if exc.status_code != 409 or "already in progress" not in _say(exc):
                raise  # removed by someone else meanwhile is fine; anything else may leave it


def _argv(step: Step) -> list[str]:
    if isinstance(step.command, PythonCommand):
        return ["python3", ENTRYPOINT, step.command.entry]
    script = "\n".join(step.command.lines)
    return ["/bin/sh", "-c", f"set -e\n(set -o pipefail) 2>/dev/null && set -o pipefail\n{script}"]


def _workspace_label(workspace: Path) -> str:
    return str(workspace.resolve())


def _user_for(workspace: Path) -> str | None:
    """The invoking user; as root, the owner of the workspace (None: root owns it, the image decides)."""
    uid, gid = os.geteuid(), os.getegid()
    if uid == 0:
        info = workspace.stat()
        uid, gid = info.st_uid, info.st_gid
    return None if uid == 0 else f"{uid}:{gid}"


def _started_at(info: dict[str, Any]) -> float:
    from datetime import datetime

    text = str(info["State"].get("StartedAt", ""))[:26].rstrip("Z")
    try:
        return datetime.fromisoformat(text + "+00:00").timestamp()
    except ValueError:
        return time.time()


def _signal_name(number: int) -> str | None:
    try:
        return signal.Signals(number).name
    except ValueError:
        return None


def _say(exc: Exception) -> str:
    return str(getattr(exc, "explanation", None) or exc).strip()


def _own(handle: StepHandle) -> DockerHandle:
    if not isinstance(handle, DockerHandle):
        raise TypeError(f"not a DockerExecutor handle: {handle!r}")
    return handle
