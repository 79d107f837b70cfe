"""The artifact store in a local folder (``.reefline/artifacts`` by default): the laptop's store.

Writes go to a temporary name in the object's own directory and are renamed into place
(``os.replace``, atomic on one filesystem), so a killed job or engine never leaves a half-written
object under a real name. The layout is ``layout.py``'s.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import IO

from reefline.artifacts.hashing import ArtifactError
from reefline.artifacts.layout import ContentStore

ROOT_ENV = "REEFLINE_ARTIFACTS_DIR"


def default_root(project_dir: Path) -> Path:
    """``$REEFLINE_ARTIFACTS_DIR``, else ``.reefline/artifacts`` in the project."""
    configured = os.environ.get(ROOT_ENV)
    return Path(configured) if configured else project_dir / ".reefline" / "artifacts"


class LocalArtifactStore(ContentStore):
    def __init__(self, root: Path) -> None:
        self.root = root

    def check(self) -> None:
        """Refuse a root that cannot be a folder; a missing one is made on the first save."""
        if self.root.exists() and not self.root.is_dir():
            raise ArtifactError(f"{self.root} is not a directory")

    def _path(self, key: str) -> Path:
        return self.root / key

    def _exists(self, key: str) -> bool:
        return self._path(key).exists()

    def _write_file(self, key: str, source: Path) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        os.close(fd)
        try:
            shutil.copyfile(source, tmp)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _write_bytes(self, key: str, data: bytes) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _open_key(self, key: str) -> IO[bytes]:
        try:
            return self._path(key).open("rb")
        except OSError as exc:
            raise ArtifactError(f"stored object {Path(key).name[:12]} cannot be read: {exc}") from exc

    def _fetch(self, key: str, target: Path) -> None:
        shutil.copyfile(self._path(key), target)

    def _key_uri(self, key: str) -> str:
        return self._path(key).resolve().as_uri()

    def _list_keys(self, prefix: str) -> list[tuple[str, int, float | None]]:
        found: list[tuple[str, int, float | None]] = []
        for folder, _, files in os.walk(self._path(prefix)):
            for name in files:
                path = Path(folder) / name
                try:
                    st = path.stat()
                except FileNotFoundError:  # removed meanwhile
                    continue
                found.append((path.relative_to(self.root).as_posix(), st.st_size, st.st_mtime))
        return found

    def _delete_key(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
