"""Where a project's database lives, opened once per command: as a reader or as a writer.

- Readers (``runs``, ``show``, ``logs``) never write: no folder, no database file, no migration,
  no recovery. A run whose owner is gone is shown as interrupted (engine/liveness.py).
- Writers (``run``, ``retry``) create and migrate the database, then close the runs whose owner
  is gone as interrupted (engine/recovery.py).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from reefline.services.types import ServiceError
from reefline.store import db, read_only
from reefline.store.errors import SchemaError


class NoRunsHere(ServiceError):
    """A reader found no database (or an empty one): nothing has run here yet."""


def open_writer_db(project_dir: Path) -> sa.Engine:
    """The project's database, created and migrated if needed, with interrupted runs closed."""
    from reefline.engine.recovery import recover_interrupted

    engine = db.open_database(db.database_url(project_dir))
    recover_interrupted(engine)
    return engine


def open_existing_db(project_dir: Path) -> sa.Engine:
    """The project's database, migrated if older, but never created (``retry``, ``cancel``)."""
    if not project_dir.is_dir():
        raise NoRunsHere(f"no project at {project_dir}: the folder does not exist (see -C DIR)")
    return db.open_database(db.database_url(project_dir, create=False), create=False)


def open_project_db(project_dir: Path) -> sa.Engine:
    """The project's database, created and migrated if needed; recovers nothing (e.g. a dry run)."""
    return db.open_database(db.database_url(project_dir))


def open_reader_db(project_dir: Path) -> sa.Engine:
    """The project's database as it is, for reading; raises NoRunsHere / SchemaError instead of writing.

    A database made by an older Reefline is not migrated here: a writer does that.
    """
    if not project_dir.is_dir():
        raise NoRunsHere(f"no project at {project_dir}: the folder does not exist (see -C DIR)")
    url = db.database_url(project_dir, create=False)
    sqlite_file = db.sqlite_path(url)
    try:
        if sqlite_file is not None and read_only.folder_is_read_only(sqlite_file):
            engine = read_only.open_read_only(sqlite_file)
        else:
            engine = db.open_database(url, migrate=False, create=False)
    except db.DatabaseMissing as exc:
        raise NoRunsHere(f"{exc}; start a run with `reefline run`") from None
    revision = db.current_revision(engine)
    if revision == db.HEAD_REVISION:
        return engine
    engine.dispose()
    if revision is None:
        raise NoRunsHere(f"no runs here yet: the database has no Reefline tables ({_shown(url)})")
    if revision.isdecimal() and int(revision) < int(db.HEAD_REVISION):
        raise SchemaError(
            f"the database was made by an older Reefline (schema {revision}, this one uses "
            f"{db.HEAD_REVISION}): run `reefline run` once to upgrade it ({_shown(url)})"
        )
    raise SchemaError(
        f"the database is at schema revision {revision!r}, which this version of Reefline does not "
        "know (was it created by a newer Reefline?): upgrade Reefline or use another database"
    )


def _shown(url: str) -> str:
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "?"
