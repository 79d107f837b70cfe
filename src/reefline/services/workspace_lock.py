"""One run at a time per workspace: two runs would write the same outputs and record each other's hashes.

An ``flock`` on ``.reefline/run.lock``: the kernel drops it when the holder dies, so a killed run
never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reefline.services.types import ServiceError

LOCK_NAME = "run.lock"


@contextmanager
def workspace_lock(workspace: Path) -> Iterator[None]:
    path = workspace / ".reefline" / LOCK_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            raise ServiceError(
                f"another reefline run (pid {holder}) is running in {workspace}; two runs would write "
                "the same outputs. Wait for it to finish, or stop it with `reefline cancel last`"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
