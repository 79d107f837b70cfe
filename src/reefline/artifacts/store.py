"""A content-addressed copy of every output, so a cache hit can bring back what was overwritten.

Layout under the root (``.reefline/artifacts`` by default)::

    objects/ab/abcdef…            file contents, named by their sha256
    trees/12/1234….json           a directory output: its files as [path, sha256, executable]
                                  and its symlinks as [path, null, false, link target]

Writes go to a temporary name and are renamed into place, so a killed job or engine never leaves
a half-written object under a real name. Objects are immutable once written.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from reefline.artifacts.hashing import ArtifactError, Hasher, link_target, resolve_inside, walk_files

ROOT_ENV = "REEFLINE_ARTIFACTS_DIR"


def default_root(project_dir: Path) -> Path:
    """``$REEFLINE_ARTIFACTS_DIR``, else ``.reefline/artifacts`` in the project."""
    configured = os.environ.get(ROOT_ENV)
    return Path(configured) if configured else project_dir / ".reefline" / "artifacts"


class LocalArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _object(self, sha256: str) -> Path:
        return self.root / "objects" / sha256[:2] / sha256

    def _tree(self, sha256: str) -> Path:
        return self.root / "trees" / sha256[:2] / f"{sha256}.json"

    # ------------------------------------------------------------------ saving

    def save(self, hasher: Hasher, relpath: str, sha256: str) -> None:
        """Keep a copy of the workspace file or directory ``relpath`` whose digest is ``sha256``."""
        source = resolve_inside(hasher.workspace, relpath)
        if source.is_dir():
            if self._tree(sha256).exists():
                return
            entries: list[list[object]] = []
            for path in walk_files(source):
                rel = path.relative_to(source).as_posix()
                if path.is_symlink():  # kept as a link, never as a copy of its target
                    entries.append([rel, None, False, link_target(hasher.workspace, path)])
                    continue
                file_sha = hasher.file_sha(path)
                self._save_file(path, file_sha)
                entries.append([rel, file_sha, os.access(path, os.X_OK)])
            self._write_atomic(self._tree(sha256), json.dumps(entries).encode())
        else:
            self._save_file(source, sha256)

    def _save_file(self, source: Path, sha256: str) -> None:
        target = self._object(sha256)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        os.close(fd)
        try:
            shutil.copyfile(source, tmp)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _write_atomic(self, target: Path, data: bytes) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)

    # ------------------------------------------------------------------ restoring

    def has(self, sha256: str) -> bool:
        return self._object(sha256).exists() or self._tree(sha256).exists()

    def restore(self, workspace: Path, relpath: str, sha256: str) -> None:
        """Put the stored content back at ``relpath``, replacing whatever is there."""
        target = resolve_inside(workspace, relpath)
        tree = self._tree(sha256)
        if tree.exists():
            entries = json.loads(tree.read_text())
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            for rel, file_sha, executable, *link in entries:
                if link:
                    self._restore_link(workspace, target / rel, link[0])
                    continue
                self._restore_file(file_sha, resolve_inside(workspace, f"{relpath}/{rel}"), executable)
        elif self._object(sha256).exists():
            if target.is_dir():
                shutil.rmtree(target)
            self._restore_file(sha256, target, False)
        else:
            raise ArtifactError(f"{relpath!r}: no stored copy of {sha256[:12]}")

    def _restore_file(self, sha256: str, target: Path, executable: bool) -> None:
        source = self._object(sha256)
        if not source.exists():
            raise ArtifactError(f"stored object {sha256[:12]} is missing")
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".reefline-restore-")
        os.close(fd)
        try:
            shutil.copyfile(source, tmp)
            if executable:
                os.chmod(tmp, 0o755)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _restore_link(self, workspace: Path, path: Path, link: str) -> None:
        """Recreate the symlink ``path`` -> ``link`` (its parent is inside the workspace)."""
        parent = resolve_inside(workspace, str(path.parent.relative_to(workspace.resolve())))
        parent.mkdir(parents=True, exist_ok=True)
        tmp = parent / f".reefline-restore-{os.getpid()}-{path.name}"
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        os.symlink(link, tmp)
        link_target(workspace, tmp)  # refuses a stored link that would point outside
        os.replace(tmp, parent / path.name)
