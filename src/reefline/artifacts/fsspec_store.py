"""The artifact store at any fsspec URL: ``file:///…``, ``memory://…``, ``s3://bucket/prefix`` (s3fs).

Atomicity on object stores: an object is written to a temporary key beside its real one and then
moved (``fs.mv``): a rename on a filesystem that has one, a server-side copy + delete on S3, where
a key never shows a partial upload either way. The layout is ``layout.py``'s.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import IO, Any, TypeVar, cast

from reefline.artifacts.hashing import ArtifactError
from reefline.artifacts.layout import ContentStore

T = TypeVar("T")

MARKER_KEY = ".reefline-artifacts"
MARKER_TEXT = b"A Reefline artifact store: objects/ holds contents by sha256, trees/ directory manifests.\n"


class FsspecArtifactStore(ContentStore):
    def __init__(self, url: str) -> None:
        import fsspec  # type: ignore[import-untyped]  # only when a URL is configured: the laptop's commands do not pay its import

        self.url = url.rstrip("/")
        try:
            fs, root = fsspec.core.url_to_fs(self.url)
        except ImportError as exc:  # e.g. s3:// without s3fs installed
            raise ArtifactError(f"{self.url}: {exc}") from exc
        except (ValueError, TypeError) as exc:  # an unknown protocol or a malformed URL
            raise ArtifactError(f"{self.url} is not a usable fsspec URL: {exc}") from exc
        self.fs: Any = fs
        self.root = str(root).rstrip("/")

    def check(self) -> None:
        """Reach the store now, so a wrong URL is one error before the run, not a note per job.

        An object store has no directories: a new prefix in a bucket neither exists nor "is a
        directory" until a key is written below it. So the store writes its marker key once, which
        also proves it can write there. Only a local filesystem gets its folders made: s3fs's
        ``makedirs`` would create a missing bucket, and a mistyped bucket must be an error.
        """
        if self._call("reach", lambda: self.fs.isfile(self.root)):
            raise ArtifactError(f"{self.url} is a file, not a directory or prefix")
        marker = self._path(MARKER_KEY)
        if not self._call("reach", lambda: self.fs.exists(marker)):
            if "file" in _protocols(self.fs):
                self._call("reach", lambda: self.fs.makedirs(self.root, exist_ok=True))
            self._call("reach", lambda: self.fs.pipe_file(marker, MARKER_TEXT))

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """Run one backend call. Backends raise their own types (botocore, aiohttp, OSError…); each
        is the environment failing, which costs a cache hit, so it becomes an ``ArtifactError``."""
        try:
            return fn()
        except ArtifactError:
            raise
        except Exception as exc:
            raise ArtifactError(f"cannot {what} {self.url}: {type(exc).__name__}: {exc}") from exc

    def _path(self, key: str) -> str:
        return f"{self.root}/{key}"

    def _exists(self, key: str) -> bool:
        return bool(self._call("read", lambda: self.fs.exists(self._path(key))))

    def _move_in(self, key: str, write: Callable[[str], None]) -> None:
        final = self._path(key)
        parent = final.rsplit("/", 1)[0]
        tmp = f"{parent}/.incoming-{uuid.uuid4().hex}"

        def run() -> None:
            self.fs.makedirs(parent, exist_ok=True)
            try:
                write(tmp)
                self.fs.mv(tmp, final)
            finally:
                if self.fs.exists(tmp):
                    self.fs.rm(tmp)

        self._call("write to", run)

    def _write_file(self, key: str, source: Path) -> None:
        self._move_in(key, lambda tmp: self.fs.put_file(str(source), tmp))

    def _write_bytes(self, key: str, data: bytes) -> None:
        self._move_in(key, lambda tmp: self.fs.pipe_file(tmp, data))

    def _open_key(self, key: str) -> IO[bytes]:
        return cast(IO[bytes], self._call("read", lambda: self.fs.open(self._path(key), "rb")))

    def _key_uri(self, key: str) -> str:
        return str(self.fs.unstrip_protocol(self._path(key)))

    def _list_keys(self, prefix: str) -> list[tuple[str, int, float | None]]:
        base = self._path(prefix)

        def find() -> dict[str, dict[str, Any]]:
            if not self.fs.exists(base):
                return {}
            return dict(self.fs.find(base, detail=True))

        found: list[tuple[str, int, float | None]] = []
        for path, info in self._call("list", find).items():
            key = str(path).removeprefix(self.root + "/").lstrip("/")
            found.append((key, int(info.get("size") or 0), _modified(info)))
        return found

    def _delete_key(self, key: str) -> None:
        path = self._path(key)

        def rm() -> None:
            if self.fs.exists(path):
                self.fs.rm(path)

        self._call("delete from", rm)


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def _modified(info: dict[str, Any]) -> float | None:
    """When an object was written, from whatever the backend's listing calls it."""
    for name in ("mtime", "LastModified", "created"):
        value = info.get(name)
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, datetime):
            return value.timestamp()
    return None
