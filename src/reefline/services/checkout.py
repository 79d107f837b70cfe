"""``reefline checkout``: put a past run's outputs back into the workspace from the artifact store,
as ``dvc checkout`` does. Only the recorded output paths are written, each confined to the workspace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa

from reefline.artifacts.hashing import ArtifactError, Hasher, resolve_inside
from reefline.services.project import NoRunsHere, open_reader_db
from reefline.services.queries import NO_RUNS, log_jobs
from reefline.services.types import NotFound
from reefline.store import repo
from reefline.store.errors import RunNotFound


@dataclass(frozen=True, slots=True)
class CheckoutItem:
    job: str
    output: str
    path: str
    sha256: str
    size: int
    note: str | None = None  # why it could not be restored


@dataclass
class CheckoutReport:
    run_id: int
    restored: list[CheckoutItem] = field(default_factory=list)
    up_to_date: list[CheckoutItem] = field(default_factory=list)
    missing: list[CheckoutItem] = field(default_factory=list)  # not in the store, or refused


def recorded_outputs(
    conn: sa.Connection, run_id: int, job_names: list[str] | None = None
) -> list[CheckoutItem]:
    """The outputs a run recorded (of the jobs named, or of every job; a matrix job's name selects all
    its expansions), one per path, parents before what is inside them."""
    run_jobs = repo.list_jobs(conn, run_id)
    selected = {j.id for j in run_jobs}
    if job_names:
        selected = set().union(*(log_jobs(run_jobs, run_id, name) for name in job_names))
    names = {j.id: j.name for j in run_jobs}
    by_path: dict[str, CheckoutItem] = {}
    for job_id, outputs in repo.list_outputs(conn, run_id).items():
        if job_id not in selected:
            continue
        for o in outputs:
            by_path[o.path] = CheckoutItem(names[job_id], o.name, o.path, o.sha256, o.size)
    return sorted(by_path.values(), key=lambda item: (Path(item.path).parts, item.job))


class Restorer(Protocol):
    """Where checkout gets the bytes: the part of an ``ArtifactStore`` it uses (a server's outputs,
    reached over the API, are one too)."""

    def has(self, sha256: str) -> bool: ...

    def restore(self, workspace: Path, relpath: str, sha256: str) -> None: ...


def checkout(store: Restorer, workspace: Path, run_id: int, items: list[CheckoutItem]) -> CheckoutReport:
    """Restore each item whose workspace content differs from what the run recorded."""
    report = CheckoutReport(run_id)
    hasher = Hasher(workspace)
    for item in items:
        try:
            resolve_inside(workspace, item.path)
        except ArtifactError as exc:
            report.missing.append(_with_note(item, f"refused: {exc}"))
            continue
        try:
            current = hasher.digest(item.path).sha256
        except ArtifactError:
            current = None  # missing or unreadable: restored below
        if current == item.sha256:
            report.up_to_date.append(item)
            continue
        if not store.has(item.sha256):
            report.missing.append(_with_note(item, "not in the artifact store (collected by `reefline gc`?)"))
            continue
        try:
            store.restore(workspace, item.path, item.sha256)
        except ArtifactError as exc:
            report.missing.append(_with_note(item, str(exc)))
            continue
        report.restored.append(item)
    return report


def _with_note(item: CheckoutItem, note: str) -> CheckoutItem:
    return CheckoutItem(item.job, item.output, item.path, item.sha256, item.size, note)


def checkout_in_project(
    project_dir: Path, run_ref: str, job_names: list[str] | None = None
) -> CheckoutReport:
    """``reefline checkout RUN [JOB…]`` on the laptop: the project's database and artifact store."""
    from reefline.services.runs import workspace_artifacts

    try:
        db = open_reader_db(project_dir)
    except NoRunsHere as exc:
        if project_dir.is_dir():
            raise RunNotFound(run_ref, NO_RUNS) from exc
        raise
    try:
        with db.connect() as conn:
            run_id = repo.resolve_run_ref(conn, run_ref, str(project_dir.resolve()))
            items = recorded_outputs(conn, run_id, job_names)
    finally:
        db.dispose()
    if not items:
        which = f" of {', '.join(job_names)}" if job_names else ""
        raise NotFound(f"run {run_id} recorded no outputs{which}: there is nothing to check out")
    return checkout(workspace_artifacts(project_dir), project_dir, run_id, items)
