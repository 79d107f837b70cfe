"""Recording component runs (the Python SDK) and listing components, on a laptop or for a team.

The caller owns the transaction. A run's link to a Reefline job is kept only when that job exists in
this database, in the run the SDK named (``REEFLINE_RUN_ID``), and belongs to the same team (on a
server) or to a laptop run of the same workspace: a component run cannot claim another team's job,
nor a job of some other database that happens to have the same id.
"""

from __future__ import annotations

import dataclasses
import re
import time
from pathlib import Path

from sqlalchemy import Connection

from reefline.services.shown import short_repr
from reefline.services.types import Invalid
from reefline.store import repo_components
from reefline.store.component_records import ComponentSpec, RunRecord
from reefline.store.repo_components import ComponentRow

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,199}")


def check_name(name: str, what: str = "component name") -> str:
    """``name`` if it is a valid component (or kind) name, else :class:`Invalid` saying why."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise Invalid(
            f"{what} {short_repr(name)} is not valid: 1-200 characters, letters, digits and _ . : / -, "
            "starting with a letter or digit"
        )
    return name


def record_run(
    conn: Connection,
    spec: ComponentSpec,
    record: RunRecord,
    *,
    pipeline_run_id: int | None,
    team_id: int | None = None,
    recorded_by: int | None = None,
    now: float | None = None,
) -> int:
    """Register ``spec`` if new (or update its kind, owner, description) and store ``record``."""
    return record_run_linked(
        conn, spec, record, pipeline_run_id=pipeline_run_id, team_id=team_id, recorded_by=recorded_by, now=now
    )[0]


def record_run_linked(
    conn: Connection,
    spec: ComponentSpec,
    record: RunRecord,
    *,
    pipeline_run_id: int | None,
    team_id: int | None = None,
    recorded_by: int | None = None,
    now: float | None = None,
) -> tuple[int, int | None]:
    """:func:`record_run`, also returning the job the run was linked to (None: none)."""
    _check(spec)
    scope = repo_components.LAPTOP_SCOPE if team_id is None else repo_components.team_scope(team_id)
    linked = _checked_link(conn, record, pipeline_run_id, team_id)
    component_id = repo_components.ensure_component(conn, scope, team_id, spec, now or time.time())
    return repo_components.insert_run(conn, component_id, linked, recorded_by=recorded_by), linked.job_id


def register(conn: Connection, spec: ComponentSpec, *, team_id: int | None = None) -> ComponentRow:
    """Register a component type (or update it); returns it as listed."""
    _check(spec)
    scope = repo_components.LAPTOP_SCOPE if team_id is None else repo_components.team_scope(team_id)
    repo_components.ensure_component(conn, scope, team_id, spec, time.time())
    return next(row for row in repo_components.list_components(conn, scope) if row.name == spec.name)


def _check(spec: ComponentSpec) -> None:
    check_name(spec.name)
    if spec.kind is not None:
        check_name(spec.kind, "component kind")


def list_components(conn: Connection, *, team_id: int | None = None) -> list[ComponentRow]:
    scope = repo_components.LAPTOP_SCOPE if team_id is None else repo_components.team_scope(team_id)
    return repo_components.list_components(conn, scope)


def _checked_link(
    conn: Connection, record: RunRecord, pipeline_run_id: int | None, team_id: int | None
) -> RunRecord:
    if record.job_id is None:
        return record
    found = (
        None if pipeline_run_id is None else repo_components.job_in_run(conn, record.job_id, pipeline_run_id)
    )
    if found is not None:
        workspace, job_team = found
        if team_id is not None and job_team == team_id:
            return record
        if team_id is None and job_team is None and _same_folder(workspace, record.workspace):
            return record
    return dataclasses.replace(record, job_id=None, attempt=None)


def _same_folder(a: str, b: str | None) -> bool:
    if b is None:
        return False
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False
