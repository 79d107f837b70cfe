"""``reefline gc``: remove from the artifact store what no kept run references.

Kept runs: the newest N finished runs of each pipeline, and every unfinished one. A kept run references the
content of its jobs' outputs and inputs; a referenced directory keeps the files it holds. An object
stored at or after the start of the oldest unfinished run (or of the collection itself) is kept too:
a running job saves its outputs before the run records them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from reefline.artifacts.base import ArtifactStore, StoredObject
from reefline.engine.liveness import Liveness
from reefline.engine.states import ACTIVE_RUN_STATES, RunState
from reefline.services.project import NoRunsHere, open_reader_db
from reefline.services.queries import NO_RUNS, as_shown
from reefline.services.types import Invalid, NotFound
from reefline.store import repo
from reefline.store.tables import inputs, jobs, outputs, runs


@dataclass
class GcReport:
    kept_runs: list[int]
    removed: list[StoredObject] = field(default_factory=list)  # or, on a dry run, what would be
    kept: list[StoredObject] = field(default_factory=list)
    dry_run: bool = False

    @property
    def bytes_freed(self) -> int:
        return sum(o.size for o in self.removed)


def kept_runs(conn: sa.Connection, keep_last: int) -> tuple[list[int], float | None]:
    """The ids of the runs gc keeps, newest first, and when the oldest unfinished one was created.

    Unfinished runs do not count towards the newest N: a run in progress keeps the last finished ones.
    """
    if keep_last < 0:
        raise Invalid(f"--keep-last must be 0 or more, not {keep_last}")
    unfinished: set[int] = set()
    oldest_unfinished: float | None = None
    liveness = Liveness()
    active = conn.execute(sa.select(runs.c.id).where(runs.c.state.in_(ACTIVE_RUN_STATES))).scalars()
    for run_id in list(active):
        run = as_shown(repo.get_run(conn, run_id), liveness)
        if RunState(run.state) in ACTIVE_RUN_STATES:
            unfinished.add(run.id)
            if oldest_unfinished is None or run.created_at < oldest_unfinished:
                oldest_unfinished = run.created_at
    per_pipeline: dict[int, int] = {}
    kept = set(unfinished)
    newest_first = sa.select(runs.c.id, runs.c.pipeline_id).order_by(runs.c.id.desc())
    for run_id, pipeline_id in conn.execute(newest_first):
        if run_id in unfinished:
            continue
        seen = per_pipeline.get(pipeline_id, 0)
        if seen < keep_last:
            kept.add(int(run_id))
        per_pipeline[pipeline_id] = seen + 1
    return sorted(kept, reverse=True), oldest_unfinished


def referenced_digests(conn: sa.Connection, run_ids: list[int]) -> set[str]:
    """The content digests the outputs and inputs of these runs' jobs name."""
    found: set[str] = set()
    for start in range(0, len(run_ids), 500):  # bounded IN lists
        chunk = run_ids[start : start + 500]
        for table in (outputs, inputs):
            query = (
                sa.select(table.c.sha256)
                .join_from(table, jobs, table.c.job_id == jobs.c.id)
                .where(jobs.c.run_id.in_(chunk))
                .distinct()
            )
            found.update(conn.execute(query).scalars())
    return found


def collect(
    conn: sa.Connection,
    store: ArtifactStore,
    keep_last: int,
    *,
    dry_run: bool = False,
    now: float | None = None,
) -> GcReport:
    """Remove (or, with ``dry_run``, only list) every stored object no kept run references.

    Directory manifests go before files, so a directory is never shown stored with files missing.
    """
    started = time.time() if now is None else now
    kept_ids, oldest_unfinished = kept_runs(conn, keep_last)
    cutoff = started if oldest_unfinished is None else min(started, oldest_unfinished)
    referenced = referenced_digests(conn, kept_ids)
    stored = store.list_stored()
    for obj in stored:
        if obj.kind == "directory" and obj.sha256 in referenced:
            referenced |= store.members(obj.sha256)
    report = GcReport(kept_ids, dry_run=dry_run)
    for obj in sorted(stored, key=lambda o: (o.kind != "directory", o.sha256)):
        recent = obj.modified is None and oldest_unfinished is not None
        recent = recent or (obj.modified is not None and obj.modified >= cutoff)
        if obj.sha256 in referenced or recent:
            report.kept.append(obj)
            continue
        if not dry_run:
            store.delete(obj.sha256, obj.kind)
        report.removed.append(obj)
    return report


def gc_in_project(project_dir: Path, keep_last: int, *, dry_run: bool = False) -> GcReport:
    """``reefline gc`` on the laptop: the project's database and artifact store."""
    from reefline.services.runs import workspace_artifacts

    try:
        db = open_reader_db(project_dir)
    except NoRunsHere as exc:
        if project_dir.is_dir():
            raise NotFound(f"{NO_RUNS}; gc removes only what runs recorded, and none did here") from exc
        raise
    try:
        store = workspace_artifacts(project_dir)
        with db.connect() as conn:
            return collect(conn, store, keep_last, dry_run=dry_run)
    finally:
        db.dispose()
