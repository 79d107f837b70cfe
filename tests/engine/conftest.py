from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import fresh_postgres_database
from tests.engine.support import Project


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def project(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Project]:
    """A project folder whose runs are stored in .reefline/ (SQLite) or, through
    REEFLINE_DATABASE_URL, in a fresh PostgreSQL database: every engine test runs on both."""
    if request.param == "sqlite":
        monkeypatch.delenv("REEFLINE_DATABASE_URL", raising=False)
        yield Project(tmp_path)
        return
    with fresh_postgres_database(request.getfixturevalue("postgres_server_url")) as url:
        monkeypatch.setenv("REEFLINE_DATABASE_URL", url)
        yield Project(tmp_path)
