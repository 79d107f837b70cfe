"""Parts of a job too big for an argument or a variable (a long script, a Python context) go to
files in a temporary folder, mounted read-only into the container, as the local executor does.

A single argument or variable above 128 KiB makes ``exec`` fail inside the container (E2BIG).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

INLINE_MAX = 32 * 1024
MOUNT = "/opt/reefline/run"


@dataclass
class JobFiles:
    folder: Path | None = None

    def add(self, name: str, text: str) -> str:
        """Write ``text`` as ``name``; returns its path inside the container."""
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="reefline-docker-"))
            self.folder.chmod(0o755)  # the container may run as another uid
        path = self.folder / name
        path.write_text(text, encoding="utf-8")
        path.chmod(0o644)
        return f"{MOUNT}/{name}"

    def remove(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
