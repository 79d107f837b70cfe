"""Reproduce a server run: a new run of the same revision with the same params and job selection,
nothing cached, and later each of the original's outputs compared with the reproduction's.

The new run's options carry ``reproduces: <original run id>``, which is all the comparison needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import sqlalchemy as sa

from reefline.engine.states import ACTIVE_RUN_STATES, RunState
from reefline.services import runs as run_verbs
from reefline.services.audit import Actor
from reefline.services.compile import compile_text
from reefline.services.reproduce import repeat_options
from reefline.services.types import Invalid, NotFound
from reefline.spec.policy import Policy
from reefline.store import repo

Verdict = Literal["identical", "different", "missing"]


@dataclass(frozen=True, slots=True)
class OutputVerdict:
    job: str
    output: str
    path: str
    original_sha256: str
    new_sha256: str | None  # None: the reproduction did not record it (yet, if it is still running)
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class ReproductionReport:
    run_id: int
    original_run_id: int
    state: str
    finished: bool
    outputs: list[OutputVerdict]

    @property
    def identical(self) -> bool:
        return self.finished and bool(self.outputs) and all(o.verdict == "identical" for o in self.outputs)


def start(
    conn: sa.Connection, run_id: int, *, triggered_by: int | None, actor: Actor, policy: Policy | None
) -> int:
    """Queue a reproduction of run ``run_id``; returns the new run's id."""
    original = repo.get_run(conn, run_id)
    if original.revision_id is None:
        raise Invalid(
            f"run {run_id} ran no pushed revision: reproduce it where it ran (`reefline reproduce`)"
        )
    options = repeat_options(original, reproduces=original.id)
    compiled = compile_text(
        original.spec_text, Path(original.spec_path or "reefline.yaml"), options, policy=policy
    )
    return run_verbs.create_run(
        conn,
        pipeline_id=original.pipeline_id,
        plan=compiled.plan,
        spec_text=original.spec_text,
        spec_path=original.spec_path or "reefline.yaml",
        params=compiled.params,
        workspace=None,
        options=options,
        trigger="reproduce",
        triggered_by=triggered_by,
        revision_id=original.revision_id,
        actor=actor,
    )


def original_of(conn: sa.Connection, run_id: int) -> int:
    """The run that run ``run_id`` reproduces; ``NotFound`` when it is no reproduction."""
    value = repo.get_run(conn, run_id).options.get("reproduces")
    if not isinstance(value, int):
        raise NotFound(
            f"run {run_id} is not a reproduction (start one with POST /api/runs/{run_id}/reproduce)"
        )
    return value


def report(conn: sa.Connection, run_id: int) -> ReproductionReport:
    """Each output the original run recorded beside the reproduction's: identical, different, or
    missing (not recorded by the reproduction)."""
    original_id = original_of(conn, run_id)
    run = repo.get_run(conn, run_id)
    recorded = _outputs_by_name(conn, original_id)
    fresh = _outputs_by_name(conn, run_id)
    verdicts = []
    for (job, output), (path, sha) in sorted(recorded.items()):
        new = fresh.get((job, output))
        new_sha = new[1] if new is not None else None
        verdict: Verdict = "missing" if new_sha is None else "identical" if new_sha == sha else "different"
        verdicts.append(OutputVerdict(job, output, path, sha, new_sha, verdict))
    finished = RunState(run.state) not in ACTIVE_RUN_STATES
    return ReproductionReport(run_id, original_id, run.state, finished, verdicts)


def _outputs_by_name(conn: sa.Connection, run_id: int) -> dict[tuple[str, str], tuple[str, str]]:
    names = {job.id: job.name for job in repo.list_jobs(conn, run_id)}
    return {
        (names[job_id], o.name): (o.path, o.sha256)
        for job_id, outputs in repo.list_outputs(conn, run_id).items()
        for o in outputs
    }
