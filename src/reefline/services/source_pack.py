"""Pack a project's source as one deterministic tar.gz, honouring its ignore files.

:func:`pack` makes a tar.gz of the project honouring ``.gitignore`` and ``.reeflineignore`` (git's
rules, also in subfolders; a deeper file wins, and ``.reeflineignore`` over ``.gitignore`` of the
same folder), always without ``.git`` and ``.reefline``. Members are in name order with mtime 0,
owner 0 and their permission bits (not setuid/setgid/sticky), so the same tree gives the same
sha256. Symbolic links are kept as links, never followed.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pathspec

from reefline.services.types import Invalid

DEFAULT_LIMIT_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_FILES = 100_000
ALWAYS_EXCLUDED = frozenset({".git", ".reefline"})
IGNORE_FILES = (".gitignore", ".reeflineignore")  # in this order: the second wins in its folder


@dataclass(frozen=True)
class SourceRef:
    """An uploaded source tarball, as a revision records it."""

    sha256: str
    size: int


@dataclass(frozen=True)
class Bundle:
    data: bytes  # the tar.gz
    sha256: str
    size: int  # len(data)
    files: tuple[str, ...]  # the files and links in it, in order
    unpacked_size: int  # the files' bytes together

    @property
    def ref(self) -> SourceRef:
        return SourceRef(self.sha256, self.size)


@dataclass(frozen=True)
class _Entry:
    rel: str
    st: os.stat_result
    link: str | None = None


_Spec = tuple[str, pathspec.GitIgnoreSpec]  # (folder relative to the project, its rules)


def pack(project_dir: Path, *, limit_bytes: int = DEFAULT_LIMIT_BYTES) -> Bundle:
    """The project's source as a deterministic tar.gz; Invalid past ``limit_bytes`` of files
    (naming the total and the five biggest files) or for a link that leads outside the project."""
    root = project_dir.resolve()
    entries = _walk(root)
    files = [e for e in entries if stat.S_ISREG(e.st.st_mode)]
    total = sum(e.st.st_size for e in files)
    if total > limit_bytes:
        biggest = sorted(files, key=lambda e: (-e.st.st_size, e.rel))[:5]
        shown = ", ".join(f"{e.rel} ({size_text(e.st.st_size)})" for e in biggest)
        raise Invalid(
            f"the project's source is {size_text(total)}, more than the {size_text(limit_bytes)} limit; the "
            f"biggest files: {shown}; leave out what the runs do not need with .reeflineignore",
            details={
                "limit_bytes": limit_bytes,
                "total_bytes": total,
                "biggest": [{"path": e.rel, "size": e.st.st_size} for e in biggest],
            },
        )
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=6) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for entry in entries:
            _add(tar, root, entry)
    data = buffer.getvalue()
    return Bundle(
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        files=tuple(e.rel for e in entries if not stat.S_ISDIR(e.st.st_mode)),
        unpacked_size=total,
    )


def _walk(root: Path) -> list[_Entry]:
    entries: list[_Entry] = []

    def visit(folder: str, specs: list[_Spec]) -> None:
        path = root / folder if folder else root
        specs = specs + _ignore_specs(path, folder)
        try:
            children = sorted(os.scandir(path), key=lambda e: e.name)
        except OSError as exc:
            raise Invalid(f"cannot read {folder or '.'}: {exc.strerror or exc}") from None
        for child in children:
            rel = f"{folder}/{child.name}" if folder else child.name
            if child.name in ALWAYS_EXCLUDED:
                continue
            st = child.stat(follow_symlinks=False)
            is_dir = stat.S_ISDIR(st.st_mode)
            if _ignored(specs, rel, is_dir):
                continue
            if stat.S_ISLNK(st.st_mode):
                entries.append(_Entry(rel, st, _checked_link(root, rel)))
            elif is_dir:
                entries.append(_Entry(rel, st))
                visit(rel, specs)
            elif stat.S_ISREG(st.st_mode):
                entries.append(_Entry(rel, st))
            # sockets, fifos and devices are no source: left out, as git does

    visit("", [])
    return entries


def _ignore_specs(path: Path, folder: str) -> list[_Spec]:
    specs: list[_Spec] = []
    for name in IGNORE_FILES:
        file = path / name
        if file.is_file():
            try:
                lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError as exc:
                raise Invalid(f"cannot read {folder + '/' if folder else ''}{name}: {exc.strerror}") from None
            specs.append((folder, pathspec.GitIgnoreSpec.from_lines(lines)))
    return specs


def _ignored(specs: list[_Spec], rel: str, is_dir: bool) -> bool:
    ignored = False
    for folder, spec in specs:  # outer folders first: the last rule that says something wins
        inner = rel[len(folder) + 1 :] if folder else rel
        verdict = spec.check_file(inner + "/" if is_dir else inner).include
        if verdict is not None:
            ignored = verdict
    return ignored


def _checked_link(root: Path, rel: str) -> str:
    target = os.readlink(root / rel)
    lexical = os.path.normpath(os.path.join(os.path.dirname(rel), target))
    if os.path.isabs(target) or lexical == ".." or lexical.startswith("../"):
        raise Invalid(
            f"{rel} is a link to {target}, outside the project: a run could not use it; "
            "leave it out with .reeflineignore",
            details={"path": rel, "target": target},
        )
    return target


def _add(tar: tarfile.TarFile, root: Path, entry: _Entry) -> None:
    info = tarfile.TarInfo(entry.rel)
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = entry.st.st_mode & 0o777
    try:
        if entry.link is not None:
            info.type, info.linkname = tarfile.SYMTYPE, entry.link
            tar.addfile(info)
        elif stat.S_ISDIR(entry.st.st_mode):
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        else:
            info.size = entry.st.st_size
            with open(root / entry.rel, "rb") as f:
                tar.addfile(info, f)
    except OSError as exc:
        raise Invalid(f"cannot pack {entry.rel}: {exc.strerror or exc} (did it change meanwhile?)") from None
    except UnicodeEncodeError:
        raise Invalid(f"cannot pack {entry.rel!r}: its name is not valid UTF-8") from None


def size_text(n: int) -> str:
    """``n`` bytes as people read them, e.g. ``1.5 MiB``."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"
