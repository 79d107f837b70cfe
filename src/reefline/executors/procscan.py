"""Finding a job's processes by the markers in their environment, wherever they went.

Every job process gets ``REEFLINE_RUN_ID``, ``REEFLINE_WORKSPACE`` and ``REEFLINE_ATTEMPT_ID`` in its
environment and passes them on to what it starts, also to processes that left its process group
(``setsid``, a double fork). Reading ``/proc/<pid>/environ`` finds them all; where there is no
``/proc`` nothing is found.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping
from pathlib import Path

ATTEMPT_ENV = "REEFLINE_ATTEMPT_ID"
PROC = Path("/proc")


def attempt_marker(run_id: int, step_id: str, attempt: int) -> str:
    """The value of :data:`ATTEMPT_ENV` for one attempt of one job."""
    return f"{run_id}-{step_id}-{attempt}"


def find_marked(markers: Mapping[str, str], proc: Path = PROC) -> list[int]:
    """Pids of the processes (but this one) whose environment has every ``NAME=value`` of ``markers``."""
    wanted = [b"\0" + f"{name}={value}".encode() + b"\0" for name, value in markers.items()]
    me = os.getpid()
    found = []
    try:
        names = os.listdir(proc)
    except OSError:
        return []
    for name in names:
        if not name.isdigit() or int(name) == me:
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


def kill_marked(markers: Mapping[str, str], proc: Path = PROC) -> list[int]:
    """SIGKILL every process :func:`find_marked` finds (twice, for what forked meanwhile)."""
    killed: list[int] = []
    for _ in range(2):
        pids = find_marked(markers, proc)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except (ProcessLookupError, PermissionError):
                continue
    return killed
