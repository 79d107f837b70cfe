"""The store layout and the save/restore logic every artifact store shares, over five primitives.

Layout under the root::

    objects/ab/abcdef…            file contents, named by their sha256
    trees/12/1234….json           a directory output: its files as [path, sha256, executable]
                                  and its symlinks as [path, null, false, link target]

A backend says only how to test, write (atomically), open and name a key; walking workspace trees,
keeping symlinks as links and refusing paths out of the workspace live here, once.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path, PurePosixPath
from typing import IO, Literal

from reefline.artifacts.base import StoredObject
from reefline.artifacts.hashing import ArtifactError, Hasher, link_target, resolve_inside, walk_files

_SHA_LEN = 64
_HEX = frozenset("0123456789abcdef")


def object_key(sha256: str) -> str:
    return f"objects/{sha256[:2]}/{sha256}"


def tree_key(sha256: str) -> str:
    return f"trees/{sha256[:2]}/{sha256}.json"


class ContentStore(ABC):
    """An ``ArtifactStore`` over a key/value backend (keys are ``/``-separated relative paths)."""

    # ------------------------------------------------------------------ the backend's part

    @abstractmethod
    def _exists(self, key: str) -> bool: ...

    @abstractmethod
    def _write_file(self, key: str, source: Path) -> None:
        """Copy ``source`` to ``key`` so that ``key`` appears only once complete."""

    @abstractmethod
    def _write_bytes(self, key: str, data: bytes) -> None:
        """Write ``data`` to ``key`` so that ``key`` appears only once complete."""

    @abstractmethod
    def _open_key(self, key: str) -> IO[bytes]:
        """The stored bytes of ``key``; ``ArtifactError`` when it is missing or unreadable."""

    @abstractmethod
    def _key_uri(self, key: str) -> str: ...

    @abstractmethod
    def _list_keys(self, prefix: str) -> list[tuple[str, int, float | None]]:
        """(key, size, modified) of every key below ``prefix`` (``objects``, ``trees``), temporary
        ones included; nothing when the prefix does not exist."""

    @abstractmethod
    def _delete_key(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error."""

    def _fetch(self, key: str, target: Path) -> None:
        """Copy the bytes of ``key`` into the local file ``target`` (a backend may do it faster)."""
        with self._open_key(key) as src, target.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)

    # ------------------------------------------------------------------ the protocol

    def has(self, sha256: str) -> bool:
        return self._exists(object_key(sha256)) or self._exists(tree_key(sha256))

    def uri(self, sha256: str) -> str:
        for key in (tree_key(sha256), object_key(sha256)):
            if self._exists(key):
                return self._key_uri(key)
        raise ArtifactError(f"no stored copy of {sha256[:12]}")

    def open(self, sha256: str, member: str | None = None) -> IO[bytes]:
        if self._exists(tree_key(sha256)):
            if member is None:
                raise ArtifactError(f"{sha256[:12]} is a directory: say which of its files to open")
            for rel, file_sha, *_ in self._entries(sha256):
                if rel == member and file_sha is not None:
                    return self._open_key(object_key(str(file_sha)))
            raise ArtifactError(f"directory {sha256[:12]} has no file {member!r}")
        if member is not None:
            raise ArtifactError(f"{sha256[:12]} is not a stored directory")
        return self._open_key(object_key(sha256))

    def list_stored(self) -> list[StoredObject]:
        return self._listed("objects", "file", "") + self._listed("trees", "directory", ".json")

    def _listed(self, prefix: str, kind: Literal["file", "directory"], suffix: str) -> list[StoredObject]:
        found: list[StoredObject] = []
        for key, size, modified in self._list_keys(prefix):
            name = key.rsplit("/", 1)[-1].removesuffix(suffix)
            if len(name) == _SHA_LEN and _HEX.issuperset(name):  # not an .incoming- file
                found.append(StoredObject(name, kind, size, modified))
        return found

    def members(self, sha256: str) -> set[str]:
        if not self._exists(tree_key(sha256)):
            return set()
        return {str(file_sha) for _, file_sha, *_ in self._entries(sha256) if file_sha is not None}

    def delete(self, sha256: str, kind: Literal["file", "directory"]) -> None:
        self._delete_key(tree_key(sha256) if kind == "directory" else object_key(sha256))

    def save(self, hasher: Hasher, relpath: str, sha256: str) -> None:
        source = resolve_inside(hasher.workspace, relpath)
        if source.is_dir():
            if self._exists(tree_key(sha256)):
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
            # The manifest last: a tree is visible only once all its objects are.
            self._write_bytes(tree_key(sha256), json.dumps(entries).encode())
        else:
            self._save_file(source, sha256)

    def _save_file(self, source: Path, sha256: str) -> None:
        key = object_key(sha256)
        if not self._exists(key):
            self._write_file(key, source)

    def _entries(self, sha256: str) -> list[list[object]]:
        with self._open_key(tree_key(sha256)) as f:
            raw = f.read()
        try:
            entries = json.loads(raw)
        except ValueError as exc:
            raise ArtifactError(f"the stored manifest of {sha256[:12]} is damaged: {exc}") from exc
        if not isinstance(entries, list):
            raise ArtifactError(f"the stored manifest of {sha256[:12]} is damaged")
        return entries

    def restore(self, workspace: Path, relpath: str, sha256: str) -> None:
        target = resolve_inside(workspace, relpath)
        if self._exists(tree_key(sha256)):
            entries = self._entries(sha256)
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            for rel, file_sha, executable, *link in entries:
                dest = self._member(workspace, relpath, target, str(rel), sha256)
                if link:
                    self._restore_link(workspace, dest, str(link[0]))
                    continue
                self._restore_file(str(file_sha), dest, bool(executable))
        elif self._exists(object_key(sha256)):
            if target.is_dir():
                shutil.rmtree(target)
            self._restore_file(sha256, target, False)
        else:
            raise ArtifactError(f"{relpath!r}: no stored copy of {sha256[:12]}")

    @staticmethod
    def _member(workspace: Path, relpath: str, target: Path, rel: str, sha256: str) -> Path:
        """Where a manifest entry goes: inside the restored directory, whatever the manifest says
        (a shared store may be written by anyone)."""
        parts = PurePosixPath(rel).parts
        dest = resolve_inside(workspace, f"{relpath}/{rel}")
        if not parts or parts[0] == "/" or ".." in parts or target not in dest.parents:
            raise ArtifactError(f"the stored manifest of {sha256[:12]} names {rel!r}, outside {relpath!r}")
        return dest

    def _restore_file(self, sha256: str, target: Path, executable: bool) -> None:
        key = object_key(sha256)
        if not self._exists(key):
            raise ArtifactError(f"stored object {sha256[:12]} is missing")
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".reefline-restore-")
        os.close(fd)
        try:
            self._fetch(key, Path(tmp))
            os.chmod(tmp, 0o755 if executable else 0o644)  # not mkstemp's 0600
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
