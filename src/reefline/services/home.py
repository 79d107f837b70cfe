"""The server's data directory, ``REEFLINE_HOME`` (default ``~/.reefline``): everything a server keeps.

A server is moved or backed up as this one folder::

    reefline.db        the default database (when REEFLINE_DATABASE_URL is not set)
    secret.key         the key that encrypts secrets at rest (unless given by env or file)
    artifacts/         the artifact store shared by the server's runs (or REEFLINE_ARTIFACTS_URL)
    workspaces/<run>/  one unpacked source tree per run
    logs/              full (uncapped) job logs
    sources/           uploaded source tarballs, by sha256
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_ENV = "REEFLINE_HOME"


@dataclass(frozen=True)
class ServerHome:
    root: Path

    @classmethod
    def from_env(cls) -> ServerHome:
        value = os.environ.get(HOME_ENV)
        return cls(Path(value).expanduser().resolve() if value else Path.home() / ".reefline")

    @property
    def database_url(self) -> str:
        """``REEFLINE_DATABASE_URL`` if set, else SQLite in the home."""
        return os.environ.get("REEFLINE_DATABASE_URL") or f"sqlite:///{self.root / 'reefline.db'}"

    @property
    def secret_key_file(self) -> Path:
        return self.root / "secret.key"

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"

    @property
    def workspaces(self) -> Path:
        return self.root / "workspaces"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def sources(self) -> Path:
        return self.root / "sources"

    def workspace(self, run_id: int) -> Path:
        return self.workspaces / str(run_id)

    def create(self) -> ServerHome:
        """Make the folders (owner-only: the home holds the database and the secrets key)."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        for folder in (self.artifacts, self.workspaces, self.logs, self.sources):
            folder.mkdir(mode=0o700, exist_ok=True)
        return self
