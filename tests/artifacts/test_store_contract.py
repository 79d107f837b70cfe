"""One contract suite for every ArtifactStore: the local folder, and fsspec on ``memory://``, on
``file://`` (a tmp dir) and on ``s3://`` (s3fs against moto's S3 server on 127.0.0.1, see conftest).

The end-to-end cases run the installed ``reefline`` in a subprocess with ``REEFLINE_ARTIFACTS_URL``.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest

from reefline.artifacts.base import ArtifactStore
from reefline.artifacts.fsspec_store import MARKER_KEY
from reefline.artifacts.hashing import ArtifactError, Hasher
from reefline.artifacts.locate import open_artifact_store

REEFLINE = str(Path(sys.executable).with_name("reefline"))


@pytest.fixture(params=["local", "fsspec-memory", "fsspec-file", "s3"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    kind = request.param
    if kind == "local":
        yield str(tmp_path / "store")
    elif kind == "fsspec-file":
        yield (tmp_path / "store").as_uri()
    elif kind == "s3":
        yield f"s3://{request.getfixturevalue('s3_bucket')}/artifacts"
    else:
        root = f"memory://reefline-test-{uuid.uuid4().hex}"
        yield root
        fsspec.filesystem("memory").rm(root.removeprefix("memory://"), recursive=True)


@pytest.fixture
def store(store_url: str) -> ArtifactStore:
    return open_artifact_store(store_url if "://" in store_url else Path(store_url))


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws


def _stored_files(store_url: str) -> list[str]:
    """Every file the store holds (its temporary names included), relative to its root."""
    fs, root = fsspec.core.url_to_fs(store_url)
    if not fs.exists(root):
        return []
    found = (p.removeprefix(root.rstrip("/") + "/") for p in fs.find(root))
    return sorted(p for p in found if p != MARKER_KEY)


def _tree(workspace: Path) -> Path:
    out = workspace / "out"
    (out / "sub").mkdir(parents=True)
    (out / "a.txt").write_text("alpha\n")
    (out / "sub" / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (out / "sub" / "run.sh").chmod(0o755)
    os.symlink("a.txt", out / "link")
    return out


def test_a_file_goes_in_and_comes_back(store: ArtifactStore, workspace: Path) -> None:
    (workspace / "model.pkl").write_bytes(b"\x00weights\xff")
    hasher = Hasher(workspace)
    sha = hasher.digest("model.pkl").sha256
    assert not store.has(sha)
    store.save(hasher, "model.pkl", sha)
    assert store.has(sha)
    (workspace / "model.pkl").unlink()
    store.restore(workspace, "model.pkl", sha)
    assert (workspace / "model.pkl").read_bytes() == b"\x00weights\xff"
    assert stat.S_IMODE((workspace / "model.pkl").stat().st_mode) == 0o644


def test_a_directory_with_a_symlink_comes_back_as_it_was(store: ArtifactStore, workspace: Path) -> None:
    out = _tree(workspace)
    hasher = Hasher(workspace)
    digest = hasher.digest("out")
    store.save(hasher, "out", digest.sha256)
    (out / "a.txt").write_text("tampered\n")
    (out / "extra").write_text("not in the stored copy\n")
    os.unlink(out / "link")
    store.restore(workspace, "out", digest.sha256)
    assert os.readlink(out / "link") == "a.txt"
    assert (out / "a.txt").read_text() == "alpha\n"
    assert not (out / "extra").exists()
    assert os.access(out / "sub" / "run.sh", os.X_OK)
    assert Hasher(workspace).digest("out") == digest


def test_saving_twice_changes_nothing(store: ArtifactStore, store_url: str, workspace: Path) -> None:
    _tree(workspace)
    hasher = Hasher(workspace)
    sha = hasher.digest("out").sha256
    store.save(hasher, "out", sha)
    before = _stored_files(store_url)
    store.save(hasher, "out", sha)
    assert _stored_files(store_url) == before
    assert not [p for p in before if ".incoming-" in p]
    assert len([p for p in before if p.startswith("objects/")]) == 2  # a.txt, run.sh; the link is not a copy


def test_two_writers_of_the_same_content_at_once(
    store: ArtifactStore, store_url: str, workspace: Path
) -> None:
    _tree(workspace)
    hasher = Hasher(workspace)
    sha = hasher.digest("out").sha256
    errors: list[BaseException] = []

    def save() -> None:
        try:
            store.save(hasher, "out", sha)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=save) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert not [p for p in _stored_files(store_url) if ".incoming-" in p]
    store.restore(workspace, "out", sha)
    assert Hasher(workspace).digest("out").sha256 == sha


def test_a_failed_save_leaves_nothing_visible(store: ArtifactStore, store_url: str, workspace: Path) -> None:
    (workspace / "gone.txt").write_text("x")
    hasher = Hasher(workspace)
    sha = hasher.digest("gone.txt").sha256
    (workspace / "gone.txt").unlink()  # vanishes between hashing and saving
    with pytest.raises((OSError, ArtifactError)):
        store.save(hasher, "gone.txt", sha)
    assert not store.has(sha)
    assert _stored_files(store_url) == []


def test_uri_names_where_the_bytes_are(store: ArtifactStore, store_url: str, workspace: Path) -> None:
    (workspace / "m.json").write_text('{"acc": 1}')
    _tree(workspace)
    hasher = Hasher(workspace)
    file_sha, dir_sha = hasher.digest("m.json").sha256, hasher.digest("out").sha256
    store.save(hasher, "m.json", file_sha)
    store.save(hasher, "out", dir_sha)
    scheme = store_url.split("://", maxsplit=1)[0] + "://" if "://" in store_url else "file:///"
    uri = store.uri(file_sha)
    assert uri.startswith(scheme) and uri.endswith(file_sha)
    with fsspec.open(uri, "rb") as f:
        assert f.read() == b'{"acc": 1}'
    assert store.uri(dir_sha).endswith(f"{dir_sha}.json")
    with pytest.raises(ArtifactError, match="no stored copy"):
        store.uri("ab" * 32)


def test_open_reads_a_stored_file_and_a_file_of_a_stored_directory(
    store: ArtifactStore, workspace: Path
) -> None:
    (workspace / "m.json").write_text('{"acc": 1}')
    _tree(workspace)
    hasher = Hasher(workspace)
    file_sha, dir_sha = hasher.digest("m.json").sha256, hasher.digest("out").sha256
    store.save(hasher, "m.json", file_sha)
    store.save(hasher, "out", dir_sha)
    with store.open(file_sha) as f:
        assert f.read() == b'{"acc": 1}'
    with store.open(dir_sha, "sub/run.sh") as f:
        assert f.read().startswith(b"#!/bin/sh")
    with pytest.raises(ArtifactError, match="is a directory"):
        store.open(dir_sha)
    with pytest.raises(ArtifactError, match="no file 'nope'"):
        store.open(dir_sha, "nope")
    with pytest.raises(ArtifactError):
        store.open("cd" * 32)


def test_restoring_what_was_never_stored_is_an_artifact_error(store: ArtifactStore, workspace: Path) -> None:
    with pytest.raises(ArtifactError, match="no stored copy"):
        store.restore(workspace, "x.txt", "ab" * 32)


# ---------------------------------------------------------------------- the CLI, end to end

SPEC = """\
version: 1
name: stores
jobs:
  make:
    script:
      - mkdir -p out/tree
      - echo made > out/a.txt
      - echo leaf > out/tree/leaf.txt
      - ln -s leaf.txt out/tree/link
    outputs:
      a: {path: out/a.txt, type: file}
      tree: {path: out/tree, type: directory}
"""


def _reefline(project: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CI", "NO_COLOR", "FORCE_COLOR", "REEFLINE_ARTIFACTS_DIR")
    }
    env["REEFLINE_ARTIFACTS_URL"] = url
    return subprocess.run(
        [REEFLINE, *args], cwd=project, capture_output=True, text=True, timeout=60, env=env, check=False
    )


@pytest.mark.parametrize("kind", ["file", "s3"])
def test_a_cache_hit_restores_deleted_outputs_from_a_url_store(
    tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "reefline.yaml").write_text(SPEC)
    if kind == "file":
        url = (tmp_path / "elsewhere").as_uri()
    else:
        url = f"s3://{request.getfixturevalue('s3_bucket')}/team-a"
    first = _reefline(project, url, "run", "--plain")
    assert first.returncode == 0, first.stderr
    assert [p for p in _stored_files(url) if p.startswith("objects/")], "the outputs were kept at the URL"
    assert not (project / ".reefline" / "artifacts").exists()
    for path in (project / "out").rglob("*"):
        if path.is_file() or path.is_symlink():
            path.unlink()
    second = _reefline(project, url, "run", "--plain")
    assert second.returncode == 0, second.stderr
    assert "restored from the artifact store" in second.stdout
    assert (project / "out" / "a.txt").read_text() == "made\n"
    assert os.readlink(project / "out" / "tree" / "link") == "leaf.txt"


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("nope://bucket/x", "not a usable fsspec URL"),
        ("file:///dev/null/store", "cannot reach file:///dev/null/store"),
    ],
)
@pytest.mark.parametrize("verb", [("run", "--plain"), ("run", "--dry-run")])
def test_an_invalid_or_unreachable_url_is_one_error_before_anything_runs(
    tmp_path: Path, url: str, said: str, verb: tuple[str, ...]
) -> None:
    (tmp_path / "reefline.yaml").write_text(SPEC)
    result = _reefline(tmp_path, url, *verb)
    assert result.returncode == 2
    assert result.stderr.startswith("error: artifact store: "), result.stderr
    assert said in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "out").exists(), "no job ran"


@pytest.mark.parametrize("rel", ["../escape.txt", "sub/../../escape.txt", "/tmp/abs-escape.txt"])
def test_a_tampered_manifest_cannot_write_beside_its_directory(
    store: ArtifactStore, store_url: str, workspace: Path, rel: str
) -> None:
    """A shared store may be written by anyone: a manifest naming a path outside its directory is
    refused, and nothing is written there."""
    _tree(workspace)
    hasher = Hasher(workspace)
    dir_sha, file_sha = hasher.digest("out").sha256, hasher.digest("out/a.txt").sha256
    store.save(hasher, "out", dir_sha)
    fs, root = fsspec.core.url_to_fs(store_url)
    fs.pipe_file(f"{root}/trees/{dir_sha[:2]}/{dir_sha}.json", json.dumps([[rel, file_sha, False]]).encode())
    with pytest.raises(ArtifactError, match="outside"):
        store.restore(workspace, "out", dir_sha)
    assert not (workspace / "escape.txt").exists()
    assert not Path("/tmp/abs-escape.txt").exists()


def test_the_store_lists_what_it_holds_and_deletes_one_object(store: ArtifactStore, workspace: Path) -> None:
    (workspace / "model.pkl").write_bytes(b"weights")
    _tree(workspace)
    hasher = Hasher(workspace)
    file_sha = hasher.digest("model.pkl").sha256
    tree_sha = hasher.digest("out").sha256
    store.save(hasher, "model.pkl", file_sha)
    store.save(hasher, "out", tree_sha)
    members = store.members(tree_sha)
    assert members == {
        hasher.file_sha(workspace / "out" / "a.txt"),
        hasher.file_sha(workspace / "out/sub/run.sh"),
    }
    assert store.members(file_sha) == set()
    listed = {(o.sha256, o.kind): o for o in store.list_stored()}
    assert set(listed) == {(file_sha, "file"), (tree_sha, "directory")} | {(m, "file") for m in members}
    assert listed[file_sha, "file"].size == len(b"weights")

    store.delete(file_sha, "file")
    store.delete(file_sha, "file")  # already gone: not an error
    assert not store.has(file_sha)
    store.delete(tree_sha, "directory")
    assert not store.has(tree_sha)
    assert {o.sha256 for o in store.list_stored()} == members  # a directory's files stay until deleted


def test_an_empty_store_lists_nothing(store: ArtifactStore) -> None:
    assert store.list_stored() == []


def test_a_missing_bucket_is_one_error_before_anything_runs(tmp_path: Path, s3_endpoint: str) -> None:
    (tmp_path / "reefline.yaml").write_text(SPEC)
    result = _reefline(tmp_path, "s3://reefline-no-such-bucket/x", "run", "--plain")
    assert result.returncode == 2
    assert result.stderr.startswith("error: artifact store: cannot reach s3://reefline-no-such-bucket/x")
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "out").exists(), "no job ran"
