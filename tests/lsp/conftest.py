from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.lsp.lsp_client import LiveServer


@pytest.fixture(scope="session")
def server() -> Iterator[LiveServer]:
    """A running ``reefline lsp`` without debounce (tests wait for each publish)."""
    live = LiveServer(debounce=0)
    yield live
    live.close()


@pytest.fixture(scope="session")
def debounced() -> Iterator[LiveServer]:
    """A running ``reefline lsp`` with its default debounce."""
    live = LiveServer()
    yield live
    live.close()
