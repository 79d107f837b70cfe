"""The git commit, branch and dirty flag of a workspace, read with the ``git`` command.

Never fails a run: no git, not a repository, a hung or slow git → None (or a partial answer).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class Provenance:
    commit: str | None
    branch: str | None  # None: a detached HEAD
    dirty: bool | None


def _git(workspace: Path, *args: str) -> str | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        done = subprocess.run(
            [git, "-C", str(workspace), *args],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_provenance(workspace: Path) -> Provenance | None:
    """The workspace's git state, or None if it is not inside a git work tree (or git is missing)."""
    if not (workspace / ".git").exists() and _git(workspace, "rev-parse", "--is-inside-work-tree") != "true":
        return None
    commit = _git(workspace, "rev-parse", "HEAD")
    if commit is None:
        return None  # a repository without a commit yet
    branch = _git(workspace, "symbolic-ref", "--short", "-q", "HEAD") or None
    status = _git(workspace, "status", "--porcelain", "--untracked-files=no")
    return Provenance(commit, branch, None if status is None else bool(status))
