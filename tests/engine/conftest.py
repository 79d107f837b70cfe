from __future__ import annotations

from pathlib import Path

import pytest
from tests.engine.support import Project


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.delenv("REEFLINE_DATABASE_URL", raising=False)
    return Project(tmp_path)
