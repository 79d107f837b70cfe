"""Source bundles: ignores honoured, deterministic, limited; unpack refuses what could escape or bomb."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from reefline.services.home import ServerHome
from reefline.services.source_bundle import bundle_path, pack, run_workspace, store_bundle, unpack
from reefline.services.types import Invalid


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return tar.getnames()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    write(
        root,
        {
            "reefline.yaml": "version: 1\n",
            "train.py": "print('hi')\n",
            ".gitignore": "*.log\ndata/\n!keep.log\n",
            ".reeflineignore": "notes.txt\n",
            "run.log": "x",
            "keep.log": "kept",
            "notes.txt": "private",
            "data/big.csv": "1,2\n",
            "src/pkg/mod.py": "x = 1\n",
            "src/pkg/.gitignore": "*.tmp\n!wanted.log\n",
            "src/pkg/a.tmp": "t",
            "src/pkg/wanted.log": "w",
            "src/pkg/other.log": "o",
            ".git/HEAD": "ref: refs/heads/main\n",
            ".reefline/reefline.db": "db",
        },
    )
    (root / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "run.sh").chmod(0o755)
    os.symlink("train.py", root / "link.py")
    return root


def test_pack_honours_gitignore_reeflineignore_nested_ignores_and_always_excluded(project: Path) -> None:
    bundle = pack(project)
    assert names(bundle.data) == [
        ".gitignore",
        ".reeflineignore",
        "keep.log",
        "link.py",
        "reefline.yaml",
        "run.sh",
        "src",
        "src/pkg",
        "src/pkg/.gitignore",
        "src/pkg/mod.py",
        "src/pkg/wanted.log",
        "train.py",
    ]
    assert "link.py" in bundle.files and "src" not in bundle.files
    with tarfile.open(fileobj=io.BytesIO(bundle.data), mode="r:gz") as tar:
        link = tar.getmember("link.py")
        script = tar.getmember("run.sh")
        assert link.issym() and link.linkname == "train.py"
        assert script.mode == 0o755 and script.mtime == 0 and script.uid == 0 and script.uname == ""


def test_pack_is_deterministic(project: Path, tmp_path: Path) -> None:
    first = pack(project)
    os.utime(project / "train.py", (1, 1))  # times never matter
    assert pack(project).sha256 == first.sha256
    copy = tmp_path / "elsewhere" / "copy"
    shutil.copytree(project, copy, symlinks=True)  # another place, other inodes and times
    assert pack(copy).sha256 == first.sha256
    (project / "train.py").write_text("print('changed')\n")
    assert pack(project).sha256 != first.sha256


def test_pack_past_the_limit_names_the_total_and_the_biggest_files(tmp_path: Path) -> None:
    write(tmp_path, {f"f{i}.bin": b"x" * (1000 * (i + 1)) for i in range(7)})
    with pytest.raises(Invalid) as caught:
        pack(tmp_path, limit_bytes=20_000)
    message = str(caught.value)
    assert "27.3 KiB, more than the 19.5 KiB limit" in message
    assert (
        "f6.bin (6.8 KiB), f5.bin (5.9 KiB), f4.bin (4.9 KiB), f3.bin (3.9 KiB), f2.bin (2.9 KiB)" in message
    )
    assert "f1.bin" not in message
    assert caught.value.details["total_bytes"] == 28_000


def test_pack_refuses_a_link_that_leads_outside_the_project(tmp_path: Path) -> None:
    write(tmp_path, {"a.txt": "a"})
    os.symlink("/etc/passwd", tmp_path / "passwd")
    with pytest.raises(Invalid, match="passwd is a link to /etc/passwd, outside the project"):
        pack(tmp_path)


def test_a_packed_bundle_stored_and_unpacked_gives_the_tree_back(project: Path, tmp_path: Path) -> None:
    home = ServerHome(tmp_path / "home").create()
    bundle = pack(project)
    sha = store_bundle(home, bundle.data)
    assert sha == bundle.sha256 and bundle_path(home, sha).read_bytes() == bundle.data
    dest = home.workspace(7)
    result = unpack(sha, dest, home=home)
    assert result.files == len(names(bundle.data))
    assert (dest / "src/pkg/mod.py").read_text() == "x = 1\n"
    assert os.readlink(dest / "link.py") == "train.py"
    assert (dest / "run.sh").stat().st_mode & 0o777 == 0o755
    assert not (dest / "notes.txt").exists() and not (dest / ".git").exists()


def test_a_damaged_stored_bundle_is_refused(project: Path, tmp_path: Path) -> None:
    home = ServerHome(tmp_path / "home").create()
    sha = store_bundle(home, pack(project).data)
    bundle_path(home, sha).write_bytes(b"garbage")
    with pytest.raises(Invalid, match="damaged"):
        unpack(sha, tmp_path / "dest", home=home)


# ------------------------------------------------------------------ hostile tarballs


def tarball(*members: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def file(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


def special(name: str, kind: bytes) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    return info, None


def unpack_bytes(tmp_path: Path, data: bytes, **limits: int) -> Path:
    source = tmp_path / "upload.tar.gz"
    source.write_bytes(data)
    dest = tmp_path / "ws" / "dest"
    unpack(source, dest, **limits)
    return dest


HOSTILE = {
    "traversal": ([file("ok.txt"), file("../escaped.txt")], r"'\.\./escaped\.txt' leads outside"),
    "nested traversal": ([file("a/../../escaped.txt")], "leads outside"),
    "absolute": ([file("/tmp/escaped-by-reefline-test.txt")], "absolute path"),
    "absolute link": ([link("l", "/etc")], "outside the source"),
    "escaping link": ([link("l", "../../outside")], "outside the source"),
    "link chain": ([link("d", "."), link("e", "d/..")], "leads outside the source"),
    "write through a link": ([link("d", "sub"), file("d/x")], "twice|outside"),
    "hard link": ([file("a"), link("b", "/etc/passwd", tarfile.LNKTYPE)], "hard link"),
    "fifo": ([special("pipe", tarfile.FIFOTYPE)], "device, fifo"),
    "device": ([special("disk", tarfile.BLKTYPE)], "device, fifo"),
    "duplicate": ([file("a", b"1"), file("a", b"2")], "twice"),
}


@pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
def test_unpack_refuses_a_hostile_member_and_writes_nothing_outside(tmp_path: Path, case: str) -> None:
    members, message = HOSTILE[case]
    with pytest.raises(Invalid, match=message):
        unpack_bytes(tmp_path, tarball(*members))
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "ws" / "escaped.txt").exists()
    assert not Path("/tmp/escaped-by-reefline-test.txt").exists()
    assert not (tmp_path / "ws" / "dest").exists()  # what was unpacked is gone


def test_unpack_stops_a_decompression_bomb_by_the_bytes_it_really_writes(tmp_path: Path) -> None:
    # A header that understates nothing: 20 MB of zeros compress to ~20 KB.
    bomb = tarball(file("zeros.bin", b"\0" * 20_000_000))
    assert len(bomb) < 100_000
    with pytest.raises(Invalid, match=r"more than 1\.0 MiB \(at member 'zeros\.bin'\)"):
        unpack_bytes(tmp_path, bomb, limit_bytes=1 << 20)
    assert not (tmp_path / "ws" / "dest").exists()


def test_unpack_stops_a_bomb_hidden_in_a_header(tmp_path: Path) -> None:
    # A pax header of 30 MB: tarfile would read it whole into memory before any member.
    info = tarfile.TarInfo("a.txt")
    info.pax_headers = {"comment": "y" * 30_000_000}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(Invalid, match=r"more than 1\.0 MiB"):
        unpack_bytes(tmp_path, buffer.getvalue(), limit_bytes=1 << 20)


def test_unpack_limits_the_number_of_files(tmp_path: Path) -> None:
    with pytest.raises(Invalid, match="more than 3 files"):
        unpack_bytes(tmp_path, tarball(*(file(f"f{i}") for i in range(5))), max_files=3)


def test_not_a_tarball_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(Invalid, match=r"not a readable tar\.gz"):
        unpack_bytes(tmp_path, b"hello, not gzip")
    with pytest.raises(Invalid, match=r"not a readable tar\.gz"):
        unpack_bytes(tmp_path, gzip.compress(b"not a tar" * 100))


def test_store_bundle_checks_an_upload_before_keeping_it(tmp_path: Path) -> None:
    home = ServerHome(tmp_path / "home").create()
    with pytest.raises(Invalid, match="leads outside"):
        store_bundle(home, tarball(file("../x")))
    with pytest.raises(Invalid, match="more than the 100 bytes limit"):
        store_bundle(home, b"x" * 101, limit_bytes=100)
    assert list(home.sources.iterdir()) == []


def test_unpack_into_a_folder_that_is_not_empty_is_refused(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    write(dest, {"there.txt": "x"})
    source = tmp_path / "a.tar.gz"
    source.write_bytes(tarball(file("a")))
    with pytest.raises(Invalid, match="not an empty folder"):
        unpack(source, dest)
    assert (dest / "there.txt").exists()


def test_a_run_workspace_holds_the_source_and_is_kept_when_the_run_resumes(
    project: Path, tmp_path: Path
) -> None:
    home = ServerHome(tmp_path / "home").create()
    sha = store_bundle(home, pack(project).data)
    workspace = run_workspace(home, 12, sha)
    assert workspace == home.workspace(12)
    assert (workspace / "train.py").read_text() == "print('hi')\n"
    (workspace / "out.txt").write_text("a finished job wrote this")
    assert run_workspace(home, 12, sha) == workspace  # taken over after a crash: kept as it is
    assert (workspace / "out.txt").exists()
    assert list(run_workspace(home, 13, None).iterdir()) == []
    assert sorted(p.name for p in home.workspaces.iterdir()) == ["12", "13"]  # no scratch left


def test_a_run_workspace_of_a_hostile_source_is_not_made(tmp_path: Path) -> None:
    home = ServerHome(tmp_path / "home").create()
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(tarball(file("../x")))
    sha = hashlib.sha256(bad.read_bytes()).hexdigest()
    bad.rename(bundle_path(home, sha))  # kept by an older server that did not check
    with pytest.raises(Invalid, match="leads outside"):
        run_workspace(home, 5, sha)
    assert list(home.workspaces.iterdir()) == []
