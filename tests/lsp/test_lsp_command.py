"""The ``reefline lsp`` command: help, and the version answer stays free of the language server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import reefline

REEFLINE = Path(sys.executable).parent / "reefline"


def test_lsp_help_shows_usage_and_an_example() -> None:
    done = subprocess.run(
        [str(REEFLINE), "lsp", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Usage: reefline lsp" in done.stdout
    assert "$ reefline lsp" in done.stdout


def test_version_does_not_import_pygls() -> None:
    code = (
        "import sys, runpy; sys.argv = ['reefline', '--version']\n"
        "try:\n    runpy.run_module('reefline.cli.main', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pygls', 'lsprotocol', 'reefline') "
        "and (m.startswith(('pygls', 'lsprotocol')) or m.startswith('reefline.lsp'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.stdout.strip().endswith("[]"), done.stdout + done.stderr
    assert reefline.__version__ in done.stdout
