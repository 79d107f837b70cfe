"""`sandbox: true` on a laptop, end to end through `reefline run`: only the jobs that ask are boxed."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reefline.cli.main import app

pytestmark = pytest.mark.skipif(
    shutil.which("bwrap") is None and os.environ.get("CI") != "true",
    reason="bubblewrap (bwrap) is not installed",
)

SPEC = """\
version: 1
name: boxes
stages: [s]
jobs:
  boxed:
    sandbox: true
    script:
      - (touch {outside}/boxed 2>/dev/null && echo "boxed WROTE") || echo "boxed denied"
      - echo made > boxed.txt
    outputs:
      made: {{path: boxed.txt, type: file}}
  plain:
    script: touch {outside}/plain && echo "plain wrote"
"""


@pytest.fixture
def outside() -> Iterator[Path]:
    folder = Path.home() / ".cache" / "reefline-tests" / f"laptop-sandbox-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    yield folder
    shutil.rmtree(folder)


def test_only_jobs_with_sandbox_true_are_boxed(runner: CliRunner, project: Path, outside: Path) -> None:
    (project / "reefline.yaml").write_text(SPEC.format(outside=outside))
    result = runner.invoke(app, ["run"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in outside.iterdir()) == ["plain"]
    assert (project / "boxed.txt").read_text() == "made\n"
    logs = runner.invoke(app, ["logs", "1", "boxed"])
    assert "boxed denied" in logs.output and "WROTE" not in logs.output
