"""Content hashes of workspace files and directories."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from reefline.artifacts.hashing import ArtifactError, Hasher, resolve_inside


def test_file_digest_is_its_sha256_and_size(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"hello")
    digest = Hasher(tmp_path).digest("a.txt")
    assert digest.sha256 == hashlib.sha256(b"hello").hexdigest()
    assert digest.size == 5


def test_an_edit_changes_the_digest_even_with_the_same_size(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"aaaa")
    hasher = Hasher(tmp_path)
    before = hasher.digest("a.txt").sha256
    path.write_bytes(b"bbbb")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert hasher.digest("a.txt").sha256 != before


def test_directory_digest_covers_names_and_contents(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "x.csv").write_text("1\n")
    (data / "sub" / "y.csv").write_text("2\n")
    first = Hasher(tmp_path).digest("data")
    assert first.size == 4
    (data / "x.csv").rename(data / "z.csv")
    renamed = Hasher(tmp_path).digest("data")
    assert renamed.sha256 != first.sha256
    (data / "z.csv").write_text("3\n")
    assert Hasher(tmp_path).digest("data").sha256 != renamed.sha256


def test_missing_path_is_an_artifact_error(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="does not exist"):
        Hasher(tmp_path).digest("nope.txt")


@pytest.mark.parametrize("path", ["../outside.txt", "/etc/passwd", "a/../../outside.txt"])
def test_paths_outside_the_workspace_are_refused(tmp_path: Path, path: str) -> None:
    with pytest.raises(ArtifactError, match="outside the workspace"):
        resolve_inside(tmp_path / "ws", path)


def test_a_symlink_out_of_the_workspace_is_refused_also_inside_a_directory(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    (workspace / "out").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("secret")
    (workspace / "out" / "leak.txt").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(ArtifactError, match="outside the workspace"):
        Hasher(workspace).digest("out")


def test_symlinks_in_a_directory_are_hashed_as_links_not_followed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "target.txt").write_text("one")
    (out / "link").symlink_to("../target.txt")
    (out / "dangling").symlink_to("missing.txt")  # a dangling link is fine: it is hashed as a link
    (out / "dirlink").symlink_to(".")
    first = Hasher(tmp_path).digest("out")
    (tmp_path / "target.txt").write_text("two")  # the target's content is not part of the hash
    assert Hasher(tmp_path).digest("out").sha256 == first.sha256
    (out / "link").unlink()
    (out / "link").symlink_to("missing.txt")  # a different target is
    assert Hasher(tmp_path).digest("out").sha256 != first.sha256


def test_a_dangling_link_out_of_the_workspace_is_refused_naming_it(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "escape").symlink_to("/nonexistent/elsewhere")
    with pytest.raises(ArtifactError, match="out/escape -> /nonexistent/elsewhere points outside"):
        Hasher(tmp_path).digest("out")


def test_a_fifo_in_a_directory_is_refused_instead_of_blocking(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    os.mkfifo(tmp_path / "out" / "pipe")
    with pytest.raises(ArtifactError, match="not a regular file"):
        Hasher(tmp_path).digest("out")


def test_a_stopped_hasher_refuses_to_keep_hashing(tmp_path: Path) -> None:
    (tmp_path / "big.bin").write_bytes(b"x" * 10)
    hasher = Hasher(tmp_path)
    hasher.stop()  # what a cancel does, so a huge output being hashed does not hold it up
    with pytest.raises(ArtifactError, match="stopped: the run is being canceled"):
        hasher.digest("big.bin")
