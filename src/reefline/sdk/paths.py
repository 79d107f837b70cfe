"""Path arguments of a call, and their content hashes before and after it.

A value is path-like when it is a ``str`` or ``os.PathLike`` (also inside a list or tuple argument)
that names an existing file or directory, relative to the current directory as the function would
open it. The workspace itself, its ancestors, Reefline's own ``.reefline/`` folder and directories
outside the workspace are never taken for an artifact by themselves (``def f(root=".")`` must not
hash the whole project on every call); declared ``inputs=`` / ``outputs=`` are hashed wherever they are.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reefline.artifacts.hashing import ArtifactError, Hasher

_MAX_PATH = 4096
_hashers: dict[Path, Hasher] = {}  # one per root, so unchanged files are not read twice (stat memo)


@dataclass(frozen=True, slots=True)
class Seen:
    path: str  # relative to the workspace when inside it, else absolute
    kind: str  # file | dir
    sha256: str
    size: int


def as_path(value: Any) -> Path | None:
    """``value`` as an absolute path if it could name a file (it need not exist), else None."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value or len(value) > _MAX_PATH or "\0" in value or "\n" in value:
        return None
    try:
        return Path(os.path.abspath(value))
    except (OSError, ValueError):
        return None


def argument_paths(arguments: Mapping[str, Any]) -> Iterator[Path]:
    """Every path-like value among a call's arguments (one level into lists and tuples)."""
    for value in arguments.values():
        items: Iterable[Any] = value if isinstance(value, list | tuple) else (value,)
        for item in items:
            path = as_path(item)
            if path is not None:
                yield path


def is_artifact(path: Path, workspace: Path) -> bool:
    """Whether a path found among the arguments is taken for an input or output: files anywhere, and
    directories inside the workspace (``prefix="/usr/local"`` must not hash a system folder)."""
    if path == workspace or path in workspace.parents or path.parent == path:
        return False
    if path.is_relative_to(workspace):
        return ".reefline" not in path.relative_to(workspace).parts
    try:
        return not path.is_dir()
    except OSError:
        return False


def digest(path: Path, workspace: Path) -> Seen | None:
    """The content hash of the file or directory at ``path``; None if it does not exist (or cannot
    be read: the caller records what it can)."""
    try:
        if not (path.is_file() or path.is_dir()):
            return None
    except OSError:
        return None
    inside = path.is_relative_to(workspace)
    shown = path.relative_to(workspace).as_posix() if inside else str(path)
    kind = "dir" if path.is_dir() else "file"
    try:
        found = _hasher(workspace if inside else Path(path.anchor)).digest(
            shown if inside else path.relative_to(path.anchor).as_posix()
        )
    except ArtifactError:
        if not inside:
            return None
        try:  # a workspace path that is a symlink out of it (data kept elsewhere): hash what it names
            real = path.resolve()
            found = _hasher(Path(real.anchor)).digest(real.relative_to(real.anchor).as_posix())
        except (ArtifactError, OSError, RuntimeError):
            return None
    return Seen(shown, kind, found.sha256, found.size)


def _hasher(root: Path) -> Hasher:
    hasher = _hashers.get(root)
    if hasher is None:
        hasher = _hashers[root] = Hasher(root)
    return hasher
