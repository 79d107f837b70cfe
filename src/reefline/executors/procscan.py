"""Finding a job's processes by the markers in their environment, wherever they went.

Every job process gets ``REEFLINE_RUN_ID``, ``REEFLINE_WORKSPACE`` and ``REEFLINE_ATTEMPT_ID`` in its
environment and passes them on to what it starts, also to processes that left its process group
(``setsid``, a double fork). Reading ``/proc/<pid>/environ`` finds them all; where there is no
``/proc`` nothing is found.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Mapping
from pathlib import Path

ATTEMPT_ENV = "REEFLINE_ATTEMPT_ID"
PROC = Path("/proc")


def attempt_marker(run_id: int, step_id: str, attempt: int) -> str:
    """The value of :data:`ATTEMPT_ENV` for one attempt of one job: ``<run>-<job>-<attempt>-<nonce>``
    (the nonce keeps two attempts apart that share the rest, e.g. runs of two databases)."""
    return f"{run_id}-{step_id}-{attempt}-{os.urandom(4).hex()}"


def find_marked(markers: Mapping[str, str], proc: Path = PROC, *, since_pid: int | None = None) -> list[int]:
    """Pids of the processes (but this one) whose environment has every ``NAME=value`` of ``markers``.

    ``since_pid``: only processes created after the one with this pid are looked at (pids are
    handed out in increasing order, wrapping around at ``pid_max``), which keeps the scan to the
    few processes started meanwhile instead of every process on the machine.
    """
    wanted = [b"\0" + f"{name}={value}".encode() + b"\0" for name, value in markers.items()]
    me = os.getpid()
    found = []
    try:
        names = os.listdir(proc)
    except OSError:
        return []
    newer = _created_after(proc, since_pid) if since_pid is not None else None
    for name in names:
        if not name.isdigit() or int(name) == me:
            continue
        if newer is not None and not newer(int(name)):
            continue
        try:
            with open(proc / name / "environ", "rb") as f:
                environ = b"\0" + f.read()
        except OSError:  # gone, or not ours to read
            continue
        if not environ.endswith(b"\0"):
            environ += b"\0"
        if all(w in environ for w in wanted):
            found.append(int(name))
    return found


def _created_after(proc: Path, pid: int) -> Callable[[int], bool] | None:
    """A test for "this pid was handed out after ``pid``", or None when the kernel does not say."""
    try:
        last = int((proc / "sys" / "kernel" / "ns_last_pid").read_text())
    except (OSError, ValueError):
        return None
    if last >= pid:  # no wrap-around since: the window is (pid, last]
        return lambda candidate: pid <= candidate <= last
    return lambda candidate: candidate >= pid or candidate <= last


def kill_marked(markers: Mapping[str, str], proc: Path = PROC, *, since_pid: int | None = None) -> list[int]:
    """SIGKILL every process :func:`find_marked` finds (twice, for what forked meanwhile)."""
    killed: list[int] = []
    for _ in range(2):
        pids = find_marked(markers, proc, since_pid=since_pid)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except (ProcessLookupError, PermissionError):
                continue
    return killed
