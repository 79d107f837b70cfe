"""Is a run's owner process still there? Answered the same way by writers and readers.

On the owner's host a live pid wins over the heartbeat (a suspended terminal or a log flood may
delay the journal for minutes): the run is gone only when the pid is dead, or is now another
process (its start time differs from the one recorded when the run began). On another host only
the heartbeat can tell: older than :data:`STALE_AFTER` seconds means gone.

A run claimed by an engine host (``lease_owner`` set) is the host's while its lease lasts: gone
means the lease expired and (on the host's own machine) the host's pid is dead too. Such a run is
taken over by the next engine host, not closed: readers show it ``interrupted`` meanwhile. A
queued run always shows ``queued``, even with an expired lease (its host died before starting it):
an engine host will claim it again.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from reefline.engine.states import ACTIVE_RUN_STATES, RunState
from reefline.store.rows import RunRow

STALE_AFTER = 30.0
"""Seconds without a heartbeat after which a run on another host counts as interrupted."""

PROC = Path("/proc")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OverflowError:  # not a pid this system can have
        return False
    return True


@cache
def _boot_id(proc: Path = PROC) -> str:
    try:
        return (proc / "sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def process_token(pid: int, proc: Path = PROC) -> str | None:
    """``<boot id>:<start time in clock ticks>`` of process ``pid``; None where /proc cannot tell.

    Two processes that ever had the same pid on one host have different tokens.
    """
    try:
        stat = (proc / str(pid) / "stat").read_bytes()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: fields follow the last ")".
    fields = stat[stat.rfind(b")") + 2 :].split()
    if len(fields) < 20:
        return None
    return f"{_boot_id(proc)}:{fields[19].decode()}"


def own_token() -> str | None:
    return process_token(os.getpid())


@dataclass(frozen=True)
class Liveness:
    """Decides whether runs' owners are gone; the probes are replaceable for tests."""

    host: str = field(default_factory=socket.gethostname)
    now: float = field(default_factory=time.time)
    stale_after: float = STALE_AFTER
    is_alive: Callable[[int], bool] = pid_alive
    token_of: Callable[[int], str | None] = process_token

    def owner_gone(self, run: RunRow) -> bool:
        """True when nobody can be working on ``run`` any more (whatever its state says)."""
        if run.owner_pid is None:
            return False  # queued for a server's engine: it has no owner yet
        if run.lease_owner is not None and (run.lease_expires_at or 0.0) >= self.now:
            return False  # an engine host holds it
        if run.owner_host == self.host:
            if not self.is_alive(run.owner_pid):
                return True
            if run.owner_token is None:
                return False
            token = self.token_of(run.owner_pid)
            return token is not None and token != run.owner_token
        if run.lease_owner is not None:
            return True  # the lease expired, and only its host could have renewed it
        last_beat = run.heartbeat_at if run.heartbeat_at is not None else run.created_at
        return last_beat < self.now - self.stale_after

    def describe(self, run: RunRow) -> str:
        """Why the owner counts as gone, for the reason of an interrupted run."""
        where = f"pid {run.owner_pid} on {run.owner_host}"
        if run.lease_owner is not None and run.owner_host != self.host:
            expired = self.now - (run.lease_expires_at or run.created_at)
            return f"the engine host holding the run ({where}) let its lease expire {expired:.0f}s ago"
        if run.owner_host == self.host:
            return f"the run's process ({where}) is gone"
        last_beat = run.heartbeat_at if run.heartbeat_at is not None else run.created_at
        return f"the run's process ({where}) sent no heartbeat for {self.now - last_beat:.0f}s"


def shown_state(run: RunRow, liveness: Liveness) -> RunState:
    """The run's state as a reader should show it: ``interrupted`` when its owner is gone.

    Readers never write; a writer (``run``, ``retry``) records it later (engine/recovery.py).
    """
    state = RunState(run.state)
    if state is RunState.QUEUED:
        return state  # waiting for an engine host, or to be claimed again: it will start
    if state in ACTIVE_RUN_STATES and liveness.owner_gone(run):
        return RunState.INTERRUPTED
    return state
