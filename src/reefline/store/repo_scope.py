"""Which team a resource belongs to: what the API's authorization resolves from a route's path."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, select

from reefline.store.tables import pipelines, runs, teams

# Asked on every request naming a team or a run: built once.
_TEAM_BY_NAME = select(teams.c.id).where(teams.c.name == bindparam("name"))
_TEAM_OF_RUN = (
    select(pipelines.c.team_id)
    .select_from(runs.join(pipelines, runs.c.pipeline_id == pipelines.c.id))
    .where(runs.c.id == bindparam("run_id"))
)


def team_id_by_name(conn: Connection, name: str) -> int | None:
    value = conn.execute(_TEAM_BY_NAME, {"name": name}).scalar()
    return None if value is None else int(value)


def team_of_run(conn: Connection, run_id: int) -> int | None:
    """The team of a server run; None for an unknown run or a laptop run (no team)."""
    value = conn.execute(_TEAM_OF_RUN, {"run_id": run_id}).scalar()
    return None if value is None else int(value)


def revision_source(conn: Connection, revision_id: int) -> str | None:
    """The sha256 of the source tarball a revision runs with (None: it has none)."""
    from reefline.store.tables import revisions

    value = conn.execute(select(revisions.c.source_sha256).where(revisions.c.id == revision_id)).scalar()
    return None if value is None else str(value)
