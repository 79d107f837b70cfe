"""The bubblewrap sandbox of a local job: the ``bwrap`` argv that wraps the job's own argv.

Inside, the job sees the machine's filesystem read-only (but for the mounts of other containers,
see :func:`root_binds`), except:

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
import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from reefline.executors.base import StartError
from reefline.plan.ir import Step

BWRAP_ENV = "REEFLINE_BWRAP"
PRIVATE_TMP = "/tmp"  # a fresh tmpfs inside the sandbox, not the host's /tmp
PROTECTED = (".reefline",)
"""Folders of the workspace the job may read but not write."""


RUN_KEPT = ("/run/systemd/resolve", "/run/resolvconf")
"""What of the host's /run a job sees (name resolution); the rest churns with containers."""
_REPLACED = frozenset({"/proc", "/dev", PRIVATE_TMP, "/run"})
_VOLATILE_TYPES = frozenset({"overlay", "aufs", "nsfs"})
_MAX_DEPTH = 8


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
    out += root_binds()
    out += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", PRIVATE_TMP, "--tmpfs", "/run"]
    for path in RUN_KEPT:
        out += ["--ro-bind-try", path, path]
    out += ["--remount-ro", "/", "--bind", ws, ws]
    for name in PROTECTED:
        protected = os.path.join(ws, name)
        if os.path.isdir(protected):
            out += ["--ro-bind", protected, protected]
    for path in (*read_only, *_hidden_interpreter()):
        out += ["--ro-bind", path, path]
    if not (tmpdir and Path(tmpdir).resolve().is_relative_to(ws)):
        out += ["--setenv", "TMPDIR", PRIVATE_TMP]
    out += ["--chdir", ws, "--", *argv]
    return out


def root_binds(mountinfo: str = "/proc/self/mountinfo") -> list[str]:
    """The host's filesystem, read-only, as bwrap arguments, without the mounts that come and go.

    ``--ro-bind / /`` would be simplest, but bwrap remounts every mount under / read-only one by
    one, and a container's overlay (or network namespace) removed meanwhile fails the job ("Can't
    bind mount … Invalid argument"; seen with a Docker engine on the same host). So / is bound one
    entry at a time, and a directory holding such a mount is bound child by child, leaving the
    volatile mounts themselves out (a job has no business in another container's root).
    """
    volatile = _volatile_mounts(mountinfo)
    out: list[str] = []

    def visit(folder: str, depth: int) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            path = entry.path
            if path in _REPLACED or path in volatile:
                continue
            if entry.is_symlink():
                out.extend(("--symlink", os.readlink(path), path))
            elif not any(m.startswith(path + "/") for m in volatile):
                out.extend(("--ro-bind", path, path))
            elif depth < _MAX_DEPTH and entry.is_dir(follow_symlinks=False):
                visit(path, depth + 1)

    visit("/", 0)
    return out


def _volatile_mounts(mountinfo: str) -> frozenset[str]:
    """Mount points of container root filesystems and namespace files (proc(5): mountinfo)."""
    found = set()
    try:
        with open(mountinfo, encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                fields, _, rest = line.partition(" - ")
                parts = fields.split()
                if len(parts) > 4 and rest.split(" ", 1)[0] in _VOLATILE_TYPES:
                    found.add(_unescape(parts[4]))
    except OSError:
        pass
    return frozenset(found)


def _unescape(path: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes (\\040 …)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), path)


def _hidden_interpreter() -> list[str]:
    """Reefline's own Python and package (``run:`` jobs start ``python -m
    reefline.executors.entrypoint``) when they live where the sandbox shows other contents, e.g. a
    virtualenv or an editable install's ``src/`` under /tmp."""
    hidden = (PRIVATE_TMP + "/", "/run/")
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # holds reefline/
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, package_root)}
    return sorted(p for p in prefixes if p.startswith(hidden))
