"""One run at a time per workspace: two runs would write the same outputs and record each other's hashes.

An ``flock`` on the workspace directory itself (opened read-only), not on a file inside
``.reefline/``: deleting ``.reefline/`` during a run cannot release it, and the kernel drops it
when the holder dies, so a killed run never leaves a stale lock behind. The holder's pid is also
written to ``.reefline/run.lock``, only to name it in the message.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reefline.services.types import ServiceError

LOCK_NAME = "run.lock"


def _holder(workspace: Path) -> str:
    try:
        return (workspace / ".reefline" / LOCK_NAME).read_text().strip() or "?"
    except OSError:
        return "?"


def _write_holder(workspace: Path) -> None:
    with contextlib.suppress(OSError):  # only informative: a read-only project still runs
        path = workspace / ".reefline" / LOCK_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(str(os.getpid()))


@contextmanager
def workspace_lock(workspace: Path) -> Iterator[None]:
    try:
        fd = os.open(workspace, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise ServiceError(f"cannot open the workspace {workspace}: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ServiceError(
                f"another reefline run (pid {_holder(workspace)}) is running in {workspace}; two runs "
                "would write the same outputs. Wait for it to finish, or stop it with "
                "`reefline cancel last`"
            ) from None
        _write_holder(workspace)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                (workspace / ".reefline" / LOCK_NAME).write_text("")
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
