"""Labels on everything the docker executor makes, and removing what a dead Reefline left behind.

Every container and network carries ``io.reefline.owner`` = ``<host>:<pid>:<start time>`` of the
process that made it (the start time tells a reused pid apart). On its first use an executor
removes the labelled containers and networks of owners on this host that no longer run (a
``reefline run`` killed with SIGKILL); owners on other hosts sharing the engine are left alone.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Mapping
from functools import cache
from typing import Any

OWNER = "io.reefline.owner"
RUN = "io.reefline.run"
STEP = "io.reefline.step"
ATTEMPT = "io.reefline.attempt"
ROLE = "io.reefline.role"
"""``job``, ``service`` or ``network``."""
WORKSPACE = "io.reefline.workspace"
"""With the run id, names the run across databases sharing one engine."""


def _start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), or None when it does not run."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and ')': fields count from the last ')'.
    return stat.rsplit(b")", 1)[1].split()[19].decode()


@cache
def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{_start_time(os.getpid()) or 0}"


def owner_alive(value: str) -> bool | None:
    """Whether the owner ``value`` still runs: None when it is of another host (cannot tell)."""
    parts = value.split(":")
    if len(parts) < 3:
        return None
    host, pid_text, started = ":".join(parts[:-2]), parts[-2], parts[-1]
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    return _start_time(int(pid_text)) == started


def labels(
    run_id: int, role: str, *, workspace: str, step: str | None = None, attempt: int | None = None
) -> dict[str, str]:
    found = {OWNER: owner(), RUN: str(run_id), ROLE: role, WORKSPACE: workspace}
    if step is not None:
        found[STEP] = step
    if attempt is not None:
        found[ATTEMPT] = str(attempt)
    return found


def remove_leftovers(api: Any) -> list[str]:
    """Remove the containers and networks of dead owners on this host; returns their names."""
    import docker.errors

    removed: list[str] = []
    for container in api.containers(all=True, filters={"label": OWNER}):
        if owner_alive(_labels(container).get(OWNER, "")) is False:
            with contextlib.suppress(docker.errors.NotFound):
                api.remove_container(container["Id"], force=True, v=True)
                removed.append(
                    container["Names"][0].lstrip("/") if container.get("Names") else container["Id"]
                )
    for network in api.networks(filters={"label": OWNER}):
        if owner_alive(_labels(network).get(OWNER, "")) is False:
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                api.remove_network(network["Id"])
                removed.append(network["Name"])
    return removed


def remove_earlier_executions(api: Any, run_id: int, workspace: str) -> list[str]:
    """Remove what other owners left of run ``run_id`` of ``workspace``: the run is this process's
    now (a taken-over run: its engine died, on this host or another), so it is a leftover."""
    import docker.errors

    wanted = {"label": [f"{RUN}={run_id}", f"{WORKSPACE}={workspace}"]}
    removed: list[str] = []
    for container in api.containers(all=True, filters=wanted):
        if _labels(container).get(OWNER) != owner():
            with contextlib.suppress(docker.errors.NotFound):
                api.remove_container(container["Id"], force=True, v=True)
                removed.append(container["Id"])
    for network in api.networks(filters=wanted):
        if _labels(network).get(OWNER) != owner():
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                api.remove_network(network["Id"])
                removed.append(network["Name"])
    return removed


def _labels(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return obj.get("Labels") or {}
