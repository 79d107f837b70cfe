"""The content-addressed artifact store: save, dedupe, restore files and directories."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reefline.artifacts.hashing import ArtifactError, Hasher
from reefline.artifacts.store import LocalArtifactStore


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws


def test_a_file_is_restored_byte_for_byte(workspace: Path, tmp_path: Path) -> None:
    (workspace / "model.pkl").write_bytes(b"\x00weights\xff")
    hasher, store = Hasher(workspace), LocalArtifactStore(tmp_path / "store")
    sha = hasher.digest("model.pkl").sha256
    store.save(hasher, "model.pkl", sha)
    (workspace / "model.pkl").write_bytes(b"overwritten")
    assert store.has(sha)
    store.restore(workspace, "model.pkl", sha)
    assert (workspace / "model.pkl").read_bytes() == b"\x00weights\xff"


def test_identical_content_is_stored_once(workspace: Path, tmp_path: Path) -> None:
    (workspace / "a.txt").write_text("same")
    (workspace / "b.txt").write_text("same")
    hasher, store = Hasher(workspace), LocalArtifactStore(tmp_path / "store")
    for name in ("a.txt", "b.txt"):
        store.save(hasher, name, hasher.digest(name).sha256)
    objects = [p for p in (tmp_path / "store" / "objects").rglob("*") if p.is_file()]
    assert len(objects) == 1


def test_a_directory_is_restored_with_its_files_and_modes_and_nothing_else(
    workspace: Path, tmp_path: Path
) -> None:
    out = workspace / "out"
    (out / "sub").mkdir(parents=True)
    (out / "a.csv").write_text("1\n")
    (out / "sub" / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(out / "sub" / "run.sh", 0o755)
    hasher, store = Hasher(workspace), LocalArtifactStore(tmp_path / "store")
    digest = hasher.digest("out")
    store.save(hasher, "out", digest.sha256)
    (out / "a.csv").write_text("changed\n")
    (out / "stray.txt").write_text("not part of the output\n")
    store.restore(workspace, "out", digest.sha256)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "a.csv",
        "sub/run.sh",
    ]
    assert (out / "a.csv").read_text() == "1\n"
    assert os.access(out / "sub" / "run.sh", os.X_OK)
    assert Hasher(workspace).digest("out").sha256 == digest.sha256


def test_restoring_unknown_content_is_an_error(workspace: Path, tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="no stored copy"):
        LocalArtifactStore(tmp_path / "store").restore(workspace, "x.txt", "ab" * 32)


def test_symlinks_are_saved_and_restored_as_links(workspace: Path, tmp_path: Path) -> None:
    out = workspace / "out"
    out.mkdir()
    (out / "data.csv").write_text("1\n")
    (out / "latest").symlink_to("data.csv")
    (out / "dangling").symlink_to("gone.csv")
    hasher, store = Hasher(workspace), LocalArtifactStore(tmp_path / "store")
    digest = hasher.digest("out")
    store.save(hasher, "out", digest.sha256)
    for name in ("latest", "dangling"):
        (out / name).unlink()
    (out / "latest").write_text("a regular file now\n")
    store.restore(workspace, "out", digest.sha256)
    assert os.readlink(out / "latest") == "data.csv"
    assert os.readlink(out / "dangling") == "gone.csv"
    assert Hasher(workspace).digest("out").sha256 == digest.sha256
