"""Fixtures of the store tests (database fixtures are in tests/conftest.py)."""

from __future__ import annotations

import pytest
from store_factories import RunFactory, new_run


@pytest.fixture(name="new_run")
def new_run_fixture() -> RunFactory:
    """Create a run (and its pipeline) with sensible defaults; keyword arguments override them."""
    return new_run
