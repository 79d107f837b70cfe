"""The bubblewrap sandbox of a local job: the ``bwrap`` argv that wraps the job's own argv.

Inside, the job sees the machine's filesystem read-only, except:

- the workspace, writable (its ``.reefline/`` folder, where a laptop keeps the database and the
  artifact store, stays read-only);
- a private, empty ``/tmp`` (``TMPDIR`` points at it unless it is in the workspace) and a
  private ``/dev``;
- the attempt's own files (a long script or Python context), read-only.

It gets new PID, IPC and UTS namespaces and, unless the step asks for ``network: bridge``, a new
network namespace with only a loopback device (nothing outside is reachable, not even the host's
127.0.0.1). It dies with its parent (``--die-with-parent``), and when the job's main process ends
the PID namespace goes with it, so a process that daemonized does not outlive the job.

A step that asks for the sandbox never runs without it: with no ``bwrap`` on the PATH (or at
``REEFLINE_BWRAP``) :func:`sandboxed_argv` raises :class:`SandboxUnavailable`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from reefline.executors.base import StartError
from reefline.plan.ir import Step

BWRAP_ENV = "REEFLINE_BWRAP"
PRIVATE_TMP = "/tmp"  # a fresh tmpfs inside the sandbox, not the host's /tmp
PROTECTED = (".reefline",)
"""Folders of the workspace the job may read but not write."""


class SandboxUnavailable(StartError):
    """The step must run sandboxed, and bubblewrap is not there."""


def bwrap_path() -> str | None:
    configured = os.environ.get(BWRAP_ENV)
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which("bwrap")


def wants_network(step: Step) -> bool:
    return step.network == "bridge"


def sandboxed_argv(
    argv: Sequence[str],
    step: Step,
    workspace: Path,
    read_only: Sequence[str] = (),
    tmpdir: str | None = None,
) -> list[str]:
    """``argv`` run under bubblewrap, in ``workspace``; ``read_only``: host paths to show as they are.

    ``tmpdir``: the job's ``TMPDIR``; kept when it is inside the workspace (a server's jobs), else
    it becomes the private ``/tmp``."""
    bwrap = bwrap_path()
    if bwrap is None:
        where = os.environ.get(BWRAP_ENV) or "the PATH"
        raise SandboxUnavailable(
            f"step {step.id}: it must run in the sandbox, but bubblewrap (bwrap) is not on {where}: "
            "install it (Debian/Ubuntu: apt install bubblewrap), or on a laptop drop `sandbox: true`"
        )
    ws = str(workspace.resolve())
    out = [bwrap, "--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-uts"]
    if not wants_network(step):
        out.append("--unshare-net")
    out += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", PRIVATE_TMP]
    out += ["--bind", ws, ws]
    for name in PROTECTED:
        protected = os.path.join(ws, name)
        if os.path.isdir(protected):
            out += ["--ro-bind", protected, protected]
    for path in read_only:
        out += ["--ro-bind", path, path]
    if not (tmpdir and Path(tmpdir).resolve().is_relative_to(ws)):
        out += ["--setenv", "TMPDIR", PRIVATE_TMP]
    out += ["--chdir", ws, "--", *argv]
    return out
