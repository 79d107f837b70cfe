"""Golden tests: each invalid spec's diagnostics match ``NAME.expected`` exactly; valid specs have none.

Regenerate with ``REEFLINE_UPDATE_GOLDEN=1 pytest tests/spec/test_spec_golden.py`` and review every diff:
line and column must point at the right token.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reefline.spec import load_spec

FIXTURES = Path(__file__).parent.parent / "fixtures" / "specs"
INVALID = sorted((FIXTURES / "invalid").glob("*.yaml"))
VALID = sorted((FIXTURES / "valid").glob("*.yaml"))
EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*/reefline.yaml"))
UPDATE = os.environ.get("REEFLINE_UPDATE_GOLDEN") == "1"


def render(path: Path) -> str:
    result = load_spec(path.read_text(encoding="utf-8"), path.name)
    return "".join(d.format() + "\n" for d in result.diagnostics)


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_spec_matches_golden(path: Path) -> None:
    expected_file = path.with_suffix(".expected")
    actual = render(path)
    if UPDATE:
        expected_file.write_text(actual, encoding="utf-8")
    assert actual, "an invalid spec must produce diagnostics"
    assert actual == expected_file.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", VALID + EXAMPLES, ids=lambda p: p.parent.name + "/" + p.stem)
def test_valid_spec_has_no_diagnostics(path: Path) -> None:
    result = load_spec(path.read_text(encoding="utf-8"), path.name)
    assert [d.format() for d in result.diagnostics] == []
    assert result.pipeline is not None


def test_there_are_enough_fixtures() -> None:
    assert len(INVALID) >= 35
    assert len(VALID) >= 6
