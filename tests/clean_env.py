"""The environment for a ``reefline`` a test starts as a new user would: no REEFLINE_ setting of the
test run (database, cache), except whether commands go through a daemon (tests/conftest.py)."""

from __future__ import annotations

import os

KEPT = ("REEFLINE_DAEMON",)


def without_reefline_settings() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("REEFLINE_") or k in KEPT}
