"""Git in a test's project folder, with an identity of its own (the machine may have none)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git(project: Path, *args: str) -> str:
    """Run ``git ARGS`` in ``project``; its stdout, stripped. A failure raises CalledProcessError."""
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()
