"""Which artifact store a workspace uses: ``$REEFLINE_ARTIFACTS_URL``, else the local folder."""

from __future__ import annotations

import os
from pathlib import Path

from reefline.artifacts.base import ArtifactStore
from reefline.artifacts.store import LocalArtifactStore, default_root

URL_ENV = "REEFLINE_ARTIFACTS_URL"


def default_location(project_dir: Path) -> str | Path:
    """``$REEFLINE_ARTIFACTS_URL`` (a URL, or a path relative to the project), else
    ``$REEFLINE_ARTIFACTS_DIR``, else ``.reefline/artifacts`` in the project."""
    configured = os.environ.get(URL_ENV)
    if not configured:
        return default_root(project_dir)
    return configured if "://" in configured else project_dir / Path(configured).expanduser()


def open_artifact_store(location: str | Path) -> ArtifactStore:
    """The store at ``location``: a URL with a scheme (``file://``, ``memory://``, ``s3://``…) is
    opened with fsspec and reached once; anything else is a local folder.
    ``ArtifactError`` when the URL is invalid or the store cannot be reached."""
    if isinstance(location, str) and "://" in location:
        from reefline.artifacts.fsspec_store import FsspecArtifactStore

        remote = FsspecArtifactStore(location)
        remote.check()
        return remote
    local = LocalArtifactStore(Path(location))
    local.check()
    return local
