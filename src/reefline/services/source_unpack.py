"""Keep an uploaded source tarball by its hash, and unpack it safely (per run).

:func:`unpack` trusts nothing in a tarball: it refuses absolute names, ``..``, links that lead
outside the destination (also through other links), hard links, devices and fifos, and stops a
decompression bomb by counting the bytes it really decompresses and writes.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import re
import shutil
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from reefline.services.home import ServerHome
from reefline.services.source_pack import DEFAULT_LIMIT_BYTES, DEFAULT_MAX_FILES, size_text
from reefline.services.types import Invalid

SHA256 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1024 * 1024
_MEMBER_OVERHEAD = 8192  # tar headers, pax records and padding allowed per member


@dataclass(frozen=True)
class Unpacked:
    files: int
    bytes: int


# ------------------------------------------------------------------ keep


def bundle_path(home: ServerHome, sha256: str) -> Path:
    return home.sources / f"{sha256}.tar.gz"


def store_bundle(
    home: ServerHome,
    data: bytes,
    *,
    limit_bytes: int = DEFAULT_LIMIT_BYTES,
    max_files: int = DEFAULT_MAX_FILES,
) -> str:
    """Check an uploaded tarball as :func:`unpack` would and keep it under ``sources/<sha256>.tar.gz``.

    Returns its sha256 (for :class:`SourceRef`); a tarball that could not be unpacked is Invalid now,
    at upload, rather than at each run.
    """
    if len(data) > limit_bytes:
        raise Invalid(
            f"the uploaded source is {size_text(len(data))}, more than the {size_text(limit_bytes)} limit",
            details={"limit_bytes": limit_bytes, "total_bytes": len(data)},
        )
    home.sources.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=home.sources, prefix=".check-") as scratch:
        _extract(io.BytesIO(data), Path(scratch) / "tree", limit_bytes, max_files)
    sha256 = hashlib.sha256(data).hexdigest()
    final = bundle_path(home, sha256)
    if not final.exists():
        fd, tmp = tempfile.mkstemp(dir=home.sources, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, final)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    return sha256


# ------------------------------------------------------------------ unpack


def unpack(
    source: str | Path,
    dest: Path,
    *,
    home: ServerHome | None = None,
    limit_bytes: int = DEFAULT_LIMIT_BYTES,
    max_files: int = DEFAULT_MAX_FILES,
) -> Unpacked:
    """Unpack a tarball (a kept one by its sha256, checked against it, or a path) into ``dest``,
    which must be missing or empty. Anything unsafe is Invalid naming the member, and ``dest`` is
    left empty; nothing is ever written outside it."""
    if isinstance(source, str) and SHA256.fullmatch(source):
        path = bundle_path(home or ServerHome.from_env(), source)
        _verify(path, source)
    else:
        path = Path(source)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise Invalid(f"cannot unpack the source into {dest}: it is not an empty folder")
    try:
        with open(path, "rb") as f:
            return _extract(f, dest, limit_bytes, max_files)
    except FileNotFoundError:
        raise Invalid(f"the source tarball {path} is missing") from None


def run_workspace(
    home: ServerHome,
    run_id: int,
    source_sha256: str | None,
    *,
    limit_bytes: int = DEFAULT_LIMIT_BYTES,
    max_files: int = DEFAULT_MAX_FILES,
) -> Path:
    """The run's own workspace, ``workspaces/<run id>``, holding its revision's source (empty without).

    Unpacked beside it first and renamed into place, so a workspace that exists is complete: a run
    taken over after a crash keeps its workspace (and what its finished jobs wrote there).
    """
    final = home.workspace(run_id)
    if final.is_dir():
        return final
    home.workspaces.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=home.workspaces, prefix=f".{run_id}-"))
    try:
        if source_sha256 is not None:
            unpack(source_sha256, scratch / "tree", home=home, limit_bytes=limit_bytes, max_files=max_files)
        else:
            (scratch / "tree").mkdir()
        try:
            os.rename(scratch / "tree", final)
        except OSError:
            if not final.is_dir():  # not another process that made it meanwhile
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return final


def _verify(path: Path, sha256: str) -> None:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
    except FileNotFoundError:
        raise Invalid(f"the source tarball {sha256} is missing from {path.parent}") from None
    if digest.hexdigest() != sha256:
        raise Invalid(f"the source tarball {path} is damaged: its content does not match its hash")


class _Budget(io.RawIOBase):
    """The decompressed tar stream, refused past its allowance (headers cannot bomb us either)."""

    def __init__(self, raw: IO[bytes], allowance: int) -> None:
        self._gz = gzip.GzipFile(fileobj=raw, mode="rb")
        self.allowance = allowance
        self.read_bytes = 0
        self.member = "the first member"

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        room = self.allowance - self.read_bytes + 1
        view = memoryview(buffer)[: max(1, min(len(buffer), room))]
        n = self._gz.readinto(view)
        self.read_bytes += n
        if self.read_bytes > self.allowance:
            raise _Bomb(self.member)
        return n


class _Bomb(Exception):
    pass


def _extract(raw: IO[bytes], dest: Path, limit_bytes: int, max_files: int) -> Unpacked:
    created = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    try:
        return _extract_into(raw, dest, limit_bytes, max_files)
    except BaseException:
        if created:
            shutil.rmtree(dest, ignore_errors=True)
        else:
            for child in dest.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
        raise


def _extract_into(raw: IO[bytes], dest: Path, limit_bytes: int, max_files: int) -> Unpacked:
    root = os.path.realpath(dest)
    budget = _Budget(raw, limit_bytes + 64 * 1024)
    seen: set[str] = set()
    links: list[tuple[str, str]] = []
    dirs: list[tuple[str, int]] = []
    written = 0
    files = 0
    try:
        with tarfile.open(fileobj=io.BufferedReader(budget, 64 * 1024), mode="r|") as tar:
            for member in tar:
                files += 1
                if files > max_files:
                    raise Invalid(f"the source has more than {max_files} files (at {member.name!r})")
                budget.allowance = limit_bytes + 64 * 1024 + _MEMBER_OVERHEAD * (files + 1)
                rel = _member_path(member)
                budget.member = repr(member.name)
                if rel is None:
                    continue
                if rel in seen:
                    raise Invalid(f"member {member.name!r} is in the tarball twice")
                seen.add(rel)
                if member.issym():
                    links.append((rel, member.linkname))
                elif member.isdir():
                    _inside(root, os.path.join(root, rel), member.name).mkdir(parents=True, exist_ok=True)
                    dirs.append((rel, (member.mode & 0o777) | 0o700))
                elif member.isreg():
                    if written + member.size > limit_bytes:
                        raise _Bomb(repr(member.name))
                    written += _write_file(tar, member, root, rel, limit_bytes - written)
                elif member.islnk():
                    raise Invalid(f"member {member.name!r} is a hard link; a source tarball has none")
                else:
                    raise Invalid(f"member {member.name!r} is a device, fifo or other special file")
    except _Bomb as bomb:
        raise Invalid(
            f"the source unpacks to more than {size_text(limit_bytes)} (at member {bomb}); refused",
            details={"limit_bytes": limit_bytes},
        ) from None
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise Invalid(f"the source is not a readable tar.gz: {exc}") from None
    for rel, target in links:
        _make_link(root, rel, target)
    for rel, target in links:  # every link in place: where each really leads
        real = os.path.realpath(os.path.join(root, rel))
        if not _within(root, real):
            raise Invalid(f"member {rel!r} is a link that leads outside the source ({target})")
    for rel, mode in reversed(dirs):
        os.chmod(os.path.join(root, rel), mode)
    return Unpacked(files=len(seen), bytes=written)


def _member_path(member: tarfile.TarInfo) -> str | None:
    """The member's path relative to the destination (None for the root itself); Invalid if unsafe."""
    name = member.name
    if "\x00" in name or name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
        raise Invalid(f"member {name!r} has an absolute path; refused")
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise Invalid(f"member {name!r} leads outside the source with '..'; refused")
    return "/".join(parts) or None


def _within(root: str, path: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _inside(root: str, path: str, name: str) -> Path:
    """``path``, after checking that its folder really is inside ``root`` (no link on the way out)."""
    parent = os.path.realpath(os.path.dirname(path))
    if not _within(root, parent):
        raise Invalid(f"member {name!r} would be written outside the source; refused")
    return Path(path)


def _write_file(tar: tarfile.TarFile, member: tarfile.TarInfo, root: str, rel: str, room: int) -> int:
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    _inside(root, path, member.name)
    source = tar.extractfile(member)
    assert source is not None
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise Invalid(f"member {member.name!r} is in the tarball twice") from None
    count = 0
    with os.fdopen(fd, "wb") as out:
        while chunk := source.read(_CHUNK):
            count += len(chunk)
            if count > room:
                raise _Bomb(repr(member.name))
            out.write(chunk)
        os.fchmod(out.fileno(), member.mode & 0o777)
    return count


def _make_link(root: str, rel: str, target: str) -> None:
    lexical = os.path.normpath(os.path.join(os.path.dirname(rel), target))
    if (
        not target
        or "\x00" in target
        or os.path.isabs(target)
        or lexical == ".."
        or lexical.startswith("../")
    ):
        raise Invalid(f"member {rel!r} is a link to {target!r}, outside the source; refused")
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    _inside(root, path, rel)
    try:
        os.symlink(target, path)
    except FileExistsError:
        raise Invalid(f"member {rel!r} is in the tarball twice") from None
