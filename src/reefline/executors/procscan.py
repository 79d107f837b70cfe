"""Finding a job's processes by the markers in their environment, wherever they went.

Every job process gets ``REEFLINE_RUN_ID``, ``REEFLINE_WORKSPACE`` and ``REEFLINE_ATTEMPT_ID`` in its
environment and passes them on to what it starts, also to processes that left its process group
(``setsid``, a double fork). Reading ``/proc/<pid>/environ`` finds them all; where there is no
``/proc`` nothing is found.
"""

from __future__ import annotations

import os
import signal
import time
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
    return _scan(markers, proc, since_pid)[0]


def _scan(markers: Mapping[str, str], proc: Path, since_pid: int | None) -> tuple[list[int], list[int]]:
    """The marked pids, and the pids that cannot say yet: a live user process whose environment
    reads empty is in the middle of an ``execve`` (the kernel sets the new environment's place
    only after loading the program), and may well carry the markers a moment later."""
    wanted = [b"\0" + f"{name}={value}".encode() + b"\0" for name, value in markers.items()]
    me = os.getpid()
    found: list[int] = []
    unsure: list[int] = []
    try:
        names = os.listdir(proc)
    except OSError:
        return [], []
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
        if environ == b"\0":
            if _is_live_user_process(proc / name):
                unsure.append(int(name))
            continue
        if not environ.endswith(b"\0"):
            environ += b"\0"
        if all(w in environ for w in wanted):
            found.append(int(name))
    return found, unsure


_PF_KTHREAD = 0x00200000


def _is_live_user_process(pid_dir: Path) -> bool:
    """Neither a zombie nor a kernel thread (both read an empty environment for good)."""
    try:
        stat = (pid_dir / "stat").read_bytes()
        fields = stat[stat.rindex(b")") + 2 :].split()
        return fields[0] not in (b"Z", b"X") and not int(fields[6]) & _PF_KTHREAD
    except (OSError, ValueError, IndexError):
        return False


def _created_after(proc: Path, pid: int) -> Callable[[int], bool] | None:
    """A test for "this pid was handed out after ``pid``", or None when the kernel does not say."""
    try:
        last = int((proc / "sys" / "kernel" / "ns_last_pid").read_text())
    except (OSError, ValueError):
        return None
    if last >= pid:  # no wrap-around since: the window is (pid, last]
        return lambda candidate: pid <= candidate <= last
    return lambda candidate: candidate >= pid or candidate <= last


def kill_marked(
    markers: Mapping[str, str],
    proc: Path = PROC,
    *,
    since_pid: int | None = None,
    patience: float = 0.25,
) -> list[int]:
    """SIGKILL every process :func:`find_marked` finds, scanning again after each kill (for what
    forked meanwhile) and, for up to ``patience`` seconds, while a process the first scan caught
    mid-``execve`` is still there and unreadable."""
    killed: list[int] = []
    waiting: set[int] | None = None  # the first scan's mid-exec pids; later ones are not waited for
    deadline = time.monotonic() + patience
    while True:
        pids, unsure = _scan(markers, proc, since_pid)
        waiting = set(unsure) if waiting is None else waiting & set(unsure)
        fresh = [pid for pid in pids if pid not in killed]
        for pid in fresh:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except (ProcessLookupError, PermissionError):
                continue
        if (not fresh and not waiting) or time.monotonic() > deadline:
            return killed
        if not fresh:
            time.sleep(0.002)
