"""The artifact store the engine sees: a protocol, whatever keeps the bytes (a folder, an fsspec URL).

Everything is named by content (sha256), so an object, once stored, never changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal, Protocol

from reefline.artifacts.hashing import Hasher


@dataclass(frozen=True, slots=True)
class StoredObject:
    """One stored object: a file's bytes, or a directory's manifest (its files are objects too)."""

    sha256: str
    kind: Literal["file", "directory"]
    size: int  # bytes the store holds under this name (a directory: its manifest only)
    modified: float | None  # when it was stored (epoch seconds), None where the backend cannot say


class ArtifactStore(Protocol):
    """Content-addressed copies of workspace outputs, so a cache hit can bring back what was lost.

    Contract, for every implementation:

    - ``save`` (put) is idempotent: saving content that is already there does nothing, and saving it
      again after a crash or from another process is harmless.
    - It is atomic: an object is written under a temporary name and moved to its real name only
      when whole, so a reader (``has``, ``restore``, ``open``) never sees a half-written object,
      also when a job or the engine is killed mid-write.
    - Two processes may save and restore at once, also the same content: the last move wins and
      both wrote the same bytes.
    - A directory keeps its files (with their executable bit) and its symlinks as links, never as
      copies of their targets; a restored link that would point out of the workspace is refused.
    - Every failure the user can act on (missing object, unreachable store, refused path) is an
      ``ArtifactError`` with a readable message; the engine turns it into a note or a cache miss.
    """

    def save(self, hasher: Hasher, relpath: str, sha256: str) -> None:
        """Put: keep the workspace file or directory ``relpath`` whose digest is ``sha256``."""
        ...

    def restore(self, workspace: Path, relpath: str, sha256: str) -> None:
        """Get: put the stored content back at ``relpath``, replacing whatever is there."""
        ...

    def has(self, sha256: str) -> bool:
        """Exists: whether content with this digest (a file or a directory) is stored."""
        ...

    def uri(self, sha256: str) -> str:
        """Where the stored content lives (``file:///…``, ``memory://…``, ``s3://…``), for lineage;
        a directory's URI is that of its manifest. ``ArtifactError`` when it is not stored."""
        ...

    def open(self, sha256: str, member: str | None = None) -> IO[bytes]:
        """The bytes of a stored file as a stream to read; for a stored directory, those of its file
        ``member`` (a relative path inside it). The caller closes it."""
        ...

    def list_stored(self) -> list[StoredObject]:
        """Every stored file object and directory manifest (for ``reefline gc``)."""
        ...

    def members(self, sha256: str) -> set[str]:
        """The digests of the files a stored directory holds; empty for a stored file."""
        ...

    def delete(self, sha256: str, kind: Literal["file", "directory"]) -> None:
        """Remove one stored object (a directory: its manifest only, not its files); a missing one
        is not an error."""
        ...
