"""Where a component runs: its workspace, and the Reefline job attempt around it (from the job's
environment, see README "Environment of a job")."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Where:
    workspace: Path
    pipeline_run_id: int | None  # REEFLINE_RUN_ID
    job_id: int | None  # REEFLINE_JOB_ID
    attempt: int | None  # REEFLINE_ATTEMPT


def _int(name: str) -> int | None:
    value = os.environ.get(name, "")
    return int(value) if value.isdecimal() else None


def current() -> Where:
    """The job's workspace inside a Reefline job, else the current directory."""
    given = os.environ.get("REEFLINE_WORKSPACE")
    workspace = Path(given) if given and Path(given).is_dir() else Path.cwd()
    return Where(
        workspace.resolve(), _int("REEFLINE_RUN_ID"), _int("REEFLINE_JOB_ID"), _int("REEFLINE_ATTEMPT")
    )
