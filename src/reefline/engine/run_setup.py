"""What a hosted run starts with: its workspace, secrets and artifact store (:class:`RunSetup`),
the environment its jobs start from (:class:`JobEnv`), and its plan compiled from the store."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from reefline.artifacts.base import ArtifactStore
from reefline.plan.ir import Plan
from reefline.store.rows import RunRow


class JobEnv(StrEnum):
    """What environment jobs start from."""

    INHERIT = "inherit"  # this process's (a laptop: the user's shell)
    CLEAN = "clean"  # PATH, HOME and TMPDIR inside the workspace, LANG: never the server's secrets


def clean_env(workspace: Path) -> dict[str, str]:
    """The environment of a server job before the spec's env, params and secrets are added.

    ``HOME`` and ``TMPDIR`` are folders inside the run's workspace (created here); ``PATH`` and
    ``LANG`` are this process's (or defaults). Nothing else of the server's environment
    (``REEFLINE_DATABASE_URL``, ``REEFLINE_SECRET_KEY*``, an admin's variables) gets through.
    """
    home, tmp = workspace / ".reefline" / "home", workspace / ".reefline" / "tmp"
    for folder in (home, tmp):
        folder.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": os.environ.get("PATH") or os.defpath,
        "HOME": str(home),
        "LANG": os.environ.get("LANG") or "C.UTF-8",
        "TMPDIR": str(tmp),
    }


@dataclass(frozen=True)
class RunSetup:
    """Where and with what a claimed run executes; returned by the host's ``prepare`` hook."""

    workspace: Path
    secrets: Mapping[str, str] = field(default_factory=dict)
    artifacts: ArtifactStore | None = None  # None: the host's store


Prepare = Callable[[RunRow], RunSetup]
"""Called in the run's thread before it executes, also again when a run is taken over after a
restart (so it must be idempotent): e.g. unpack the revision's source into the workspace and
decrypt the secrets. An exception fails the run with its message."""


def stored_workspace(run: RunRow) -> RunSetup:
    """The default setup: the workspace recorded with the run, no secrets, the host's artifact store."""
    return RunSetup(Path(run.workspace))


def plan_of(run: RunRow) -> Plan:
    """The plan of a recorded run: its stored spec text, params and selection, compiled again.

    Raises ValueError naming the problem when the stored spec no longer compiles.
    """
    from reefline.plan.compiler import compile_plan
    from reefline.plan.selection import select
    from reefline.spec import load_spec
    from reefline.spec.diagnostics import has_errors

    loaded = load_spec(run.spec_text, run.spec_path)
    if loaded.pipeline is None or has_errors(loaded.diagnostics):
        first = next((d for d in loaded.diagnostics if d.severity == "error"), None)
        raise ValueError(f"its spec is invalid: {first.message if first else 'it does not load'}")
    options: dict[str, Any] = run.options
    plan = compile_plan(loaded.pipeline, dict(run.params))
    return select(plan, only=tuple(options.get("only") or ()), from_job=options.get("from_job"))
