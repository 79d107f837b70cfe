"""How a server is configured: flags of ``reefline server`` over environment variables over defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from reefline.artifacts.locate import URL_ENV as ARTIFACTS_URL_ENV
from reefline.services.home import ServerHome


class Role(StrEnum):
    ALL = "all"  # API + engine in one process (the default)
    API = "api"  # answers requests; never runs jobs
    ENGINE = "engine"  # claims and runs queued runs; no HTTP


@dataclass(frozen=True)
class ServerSettings:
    home: ServerHome = field(default_factory=ServerHome.from_env)
    host: str = "127.0.0.1"
    port: int = 8420
    role: Role = Role.ALL
    job_slots: int = field(default_factory=lambda: _int_env("REEFLINE_JOB_SLOTS", os.cpu_count() or 2))
    # Send the session cookie only over HTTPS (set when the server is behind TLS).
    secure_cookies: bool = field(default_factory=lambda: os.environ.get("REEFLINE_SECURE_COOKIES") == "1")
    max_upload_bytes: int = 50 * 1024 * 1024
    # Where the engine keeps outputs: an fsspec URL (s3://bucket/prefix) shared by every engine and
    # API process, or a folder (relative: to the home); None: the home's artifacts/ folder.
    artifacts_url: str | None = field(default_factory=lambda: os.environ.get(ARTIFACTS_URL_ENV) or None)

    @property
    def database_url(self) -> str:
        return self.home.database_url

    @property
    def artifacts(self) -> str | Path:
        """The location of the server's artifact store, as ``open_artifact_store`` takes it."""
        if not self.artifacts_url:
            return self.home.artifacts
        if "://" in self.artifacts_url:
            return self.artifacts_url
        return self.home.root / Path(self.artifacts_url).expanduser()


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.isdecimal() and int(value) > 0 else default
