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
        self._stop = threading.Event()

    def stop(self) -> None:
        """Make every hashing in progress, and every later one, fail soon (a run being canceled)."""
        self._stop.set()

    def digest(self, relpath: str) -> Digest:
        target = resolve_inside(self.workspace, relpath)
        try:
            if target.is_dir():
                return self._digest_dir(target)
            if not target.exists():
                raise ArtifactError(f"{relpath!r} does not exist")
            if not target.is_file():
                raise ArtifactError(f"{relpath!r} is not a regular file or directory")
            return Digest(self._file_sha(target), target.stat().st_size)
        except OSError as exc:  # vanished or unreadable while hashing
            raise ArtifactError(f"{relpath!r} cannot be read: {exc}") from exc

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
                if self._stop.is_set():
                    raise ArtifactError(f"hashing {path.name} was stopped: the run is being canceled")
                h.update(chunk)
        sha = h.hexdigest()
        with self._lock:
            self._memo[key] = sha
        return sha

    def _digest_dir(self, root: Path) -> Digest:
        """Hash of the sorted (relative path, file hash) list: renames and edits both count.

        A symlink inside the directory is hashed as a link (its target text, as git does), never
        followed, so a dangling link is fine; one that points out of the workspace is refused.
        """
        h = hashlib.sha256()
        size = 0
        for path in walk_files(root):
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                target = link_target(self.workspace, path)
                h.update(f"{rel}\0->{target}\n".encode())
                size += len(os.fsencode(target))
                continue
            if not path.is_file():
                raise ArtifactError(f"{_shown(self.workspace.resolve(), path)} is not a regular file")
            h.update(f"{rel}\0{self._file_sha(path)}\n".encode())
            size += path.stat().st_size
        return Digest(h.hexdigest(), size)

    def file_sha(self, path: Path) -> str:
        """The sha256 of a regular file at an absolute path (memoized)."""
        return self._file_sha(path)


def link_target(workspace: Path, link: Path) -> str:
    """The target text of the symlink ``link``; refuses a link that points out of ``workspace``."""
    target = os.readlink(link)
    root = workspace.resolve()
    try:
        resolved = (link.parent / target).resolve()
    except (OSError, RuntimeError) as exc:  # a link loop
        raise ArtifactError(f"symlink {_shown(root, link)} -> {target} cannot be resolved: {exc}") from exc
    if resolved != root and root not in resolved.parents:
        raise ArtifactError(f"symlink {_shown(root, link)} -> {target} points outside the workspace {root}")
    return target


def _shown(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def walk_files(root: Path) -> Iterator[Path]:
    """Every file and symlink under ``root`` in a stable order; symlinks are not followed."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        for name in sorted([*filenames, *links]):
            yield Path(dirpath, name)
