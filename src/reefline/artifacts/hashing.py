"""Content hashes of workspace files and directories, with a stat-keyed memo.

A path may not leave the workspace, also not through a symlink made at run time.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 1 << 20


class ArtifactError(Exception):
    """A declared path is missing, escapes the workspace, or cannot be read."""


@dataclass(frozen=True, slots=True)
class Digest:
    sha256: str
    size: int


def resolve_inside(workspace: Path, relpath: str) -> Path:
    """The absolute path of ``relpath``, refusing anything that resolves outside ``workspace``."""
    root = workspace.resolve()
    target = (root / relpath).resolve()
    if target != root and root not in target.parents:
        raise ArtifactError(f"{relpath!r} resolves to {target}, outside the workspace {root}")
    return target


class Hasher:
    """Hashes files and directories; re-hashes a file only when its stat changes. Thread-safe."""

    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace
        self._memo: dict[tuple[str, int, int, int], str] = {}
        self._lock = threading.Lock()

    def digest(self, relpath: str) -> Digest:
        target = resolve_inside(self.workspace, relpath)
        if target.is_dir():
            return self._digest_dir(target)
        if not target.exists():
            raise ArtifactError(f"{relpath!r} does not exist")
        return Digest(self._file_sha(target), target.stat().st_size)

    def _file_sha(self, path: Path) -> str:
        st = path.stat()
        key = (str(path), st.st_mtime_ns, st.st_size, st.st_ino)
        with self._lock:
            known = self._memo.get(key)
        if known is not None:
            return known
        h = hashlib.sha256()
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
        sha = h.hexdigest()
        with self._lock:
            self._memo[key] = sha
        return sha

    def _digest_dir(self, root: Path) -> Digest:
        """Hash of the sorted (relative path, file hash) list: renames and edits both count."""
        h = hashlib.sha256()
        size = 0
        for path in walk_files(root):
            rel = path.relative_to(root).as_posix()
            resolve_inside(self.workspace, str(path.relative_to(self.workspace.resolve())))
            h.update(f"{rel}\0{self._file_sha(path)}\n".encode())
            size += path.stat().st_size
        return Digest(h.hexdigest(), size)


def walk_files(root: Path) -> Iterator[Path]:
    """Every file under ``root`` in a stable order; symlinked directories are not followed."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            yield Path(dirpath, name)
