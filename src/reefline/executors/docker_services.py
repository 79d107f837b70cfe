"""Sidecar containers of a job: on a network of the job's own, reachable by name, ready before it."""

from __future__ import annotations

import contextlib
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from reefline.executors import docker_labels
from reefline.executors.base import LogSink, StartError
from reefline.executors.docker_images import image_id
from reefline.plan.ir import Service, Step

POLL_EVERY = 0.1
LOG_TAIL = 20


@dataclass
class JobNetwork:
    """The job's network and its services' containers (ids), for removal."""

    name: str
    network_id: str
    services: list[str] = field(default_factory=list)


def create_job_network(api: Any, name: str, labels: dict[str, str], *, internal: bool) -> JobNetwork:
    """``labels``: the job container's; the role becomes ``network``."""
    created = api.create_network(
        name, driver="bridge", internal=internal, labels={**labels, docker_labels.ROLE: "network"}
    )
    return JobNetwork(name, str(created["Id"]))


def start_services(api: Any, net: JobNetwork, step: Step, labels: dict[str, str], log: LogSink) -> None:
    """Start every service of ``step`` on ``net`` and wait until each is ready (StartError if not).
    ``labels``: the job container's; the role becomes ``service``."""
    for service in step.services:
        container = api.create_container(
            image_id(api, service.image),
            command=list(service.command) if service.command is not None else None,
            environment=dict(service.env),
            name=f"{net.name}-{service.name}",
            hostname=service.name,
            labels={**labels, docker_labels.ROLE: "service"},
            host_config=api.create_host_config(network_mode=net.name, init=True),
            networking_config=api.create_networking_config(
                {net.name: api.create_endpoint_config(aliases=[service.name])}
            ),
        )
        net.services.append(container["Id"])
        try:
            api.start(container["Id"])
        except Exception as exc:
            raise StartError(
                f"service {service.name!r} ({service.image.name}) did not start: {exc}"
            ) from None
    for service, container_id in zip(step.services, net.services, strict=True):
        _wait_ready(api, net, service, container_id, log)


def _wait_ready(api: Any, net: JobNetwork, service: Service, container_id: str, log: LogSink) -> None:
    ready = service.ready
    if ready is None:
        return
    started = time.monotonic()
    deadline = started + ready.timeout
    what = f"port {ready.port}" if ready.port is not None else f"`{ready.command}`"
    while True:
        state = api.inspect_container(container_id)["State"]
        if not state.get("Running"):
            raise StartError(
                f"service {service.name!r} ({service.image.name}) exited with code {state.get('ExitCode')} "
                f"before it was ready{_tail(api, container_id)}"
            )
        if _is_ready(api, net, service, container_id):
            log(
                "system",
                time.time(),
                f"service {service.name} is ready ({what}, {time.monotonic() - started:.1f}s)",
            )
            return
        if time.monotonic() >= deadline:
            raise StartError(
                f"service {service.name!r} ({service.image.name}) was not ready within {ready.timeout:g}s "
                f"({what}){_tail(api, container_id)}"
            )
        time.sleep(POLL_EVERY)


def _is_ready(api: Any, net: JobNetwork, service: Service, container_id: str) -> bool:
    ready = service.ready
    assert ready is not None
    if ready.command is not None:
        run = api.exec_create(container_id, ["/bin/sh", "-c", ready.command])
        api.exec_start(run["Id"])
        return bool(api.exec_inspect(run["Id"]).get("ExitCode") == 0)
    info = api.inspect_container(container_id)["NetworkSettings"]["Networks"].get(net.name) or {}
    address = info.get("IPAddress")
    if not address:
        return False
    with contextlib.suppress(OSError), socket.create_connection((address, ready.port or 0), timeout=0.5):
        return True
    return False


def _tail(api: Any, container_id: str) -> str:
    with contextlib.suppress(Exception):
        text = str(api.logs(container_id, tail=LOG_TAIL).decode("utf-8", errors="replace")).strip()
        if text:
            return "; its last lines:\n" + text
    return ""


def remove(api: Any, net: JobNetwork | None) -> None:
    """Remove the services and the network (idempotent; what is gone already is fine)."""
    if net is None:
        return
    import docker.errors

    for container_id in net.services:
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_container(container_id, force=True, v=True)
    net.services.clear()
    with contextlib.suppress(docker.errors.NotFound):
        api.remove_network(net.network_id)
