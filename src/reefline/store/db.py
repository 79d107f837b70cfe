"""Where the database is, how to open it, and bringing its schema up to date.

SQLite (the laptop default) runs in WAL mode so another terminal can read (``reefline logs -f``)
while the engine writes. We keep pysqlite's default ("legacy") transaction handling on purpose:
it sends BEGIN only before the first write of a transaction, so a transaction never holds a read
snapshot it later has to upgrade to a write lock (which fails at once with SQLITE_BUSY instead of
waiting on busy_timeout). The price: reads before the first write of a transaction are not one
snapshot; the engine is the single writer of state, so that is harmless.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from reefline.store import db_errors
from reefline.store.db_errors import DatabaseUnusable
from reefline.store.errors import SchemaError, StoreError

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import URL, ExceptionContext

# Newest migration in migrations/versions. Bump it with every new migration: it lets an up-to-date
# database skip loading Alembic (every CLI command opens the database). A test checks it.
HEAD_REVISION = "0010"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# pg_advisory_xact_lock key serializing migrations between processes ("REEFMIGR").
_PG_MIGRATION_LOCK = 0x5245_4546_4D49_4752


class DatabaseMissing(StoreError):
    """A reader found no database file: nothing has run in this project (or it is mistyped)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        project = path.parent.parent if path.parent.name == ".reefline" else path.parent
        super().__init__(f"no runs here yet: {path} does not exist (is {project} the project? see -C DIR)")


_SQLITE_PRAGMAS = (
    "PRAGMA busy_timeout=10000",  # first, so the pragmas below wait for a lock instead of failing
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
)


def database_url(project_dir: Path, *, create: bool = True) -> str:
    """``$REEFLINE_DATABASE_URL``, or the project's SQLite file ``.reefline/reefline.db``.

    With ``create`` (the default, for writers) the ``.reefline`` folder is created; readers pass
    ``create=False`` so that looking at a mistyped project writes nothing.
    """
    url = os.environ.get("REEFLINE_DATABASE_URL")
    if url:
        return url
    folder = project_dir.resolve() / ".reefline"
    if create:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseUnusable(
                f"cannot create {folder}: {exc.strerror or exc} (is the project read-only?)"
            ) from exc
    return f"sqlite:///{folder / 'reefline.db'}"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for another database or an in-memory one."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    database = parsed.database or ""
    if (
        parsed.get_backend_name() != "sqlite"
        or database in ("", ":memory:")
        or parsed.query.get("mode") == "memory"
    ):
        return None
    return Path(database)


def open_database(url: str, *, migrate: bool = True, echo: bool = False, create: bool = True) -> Engine:
    """An engine for ``url``; with ``migrate`` (the default) the schema is brought to the newest revision.

    Cheap when the schema is current: one ``SELECT`` on ``alembic_version``. With ``create=False``
    (readers) a missing SQLite file raises :class:`DatabaseMissing` instead of being created.
    Environment problems (a bad URL, a missing driver, a refused connection, a corrupt or read-only
    file) raise :class:`DatabaseUnusable` naming the database, here and in later statements.
    """
    try:
        return _open_database(url, migrate=migrate, echo=echo, create=create)
    except (SQLAlchemyError, OSError, _DriverMissing) as exc:
        cause = exc.__cause__ if isinstance(exc, _DriverMissing) and exc.__cause__ else exc
        error = db_errors.describe(cause, url)
        if error is None:
            raise
        raise error from cause


class _DriverMissing(Exception):
    """``create_engine`` could not import the DB-API driver (only that ImportError, not our own)."""


def _create_engine(url: URL, **kwargs: Any) -> Engine:
    try:
        return create_engine(url, **kwargs)
    except ImportError as exc:
        raise _DriverMissing(str(exc)) from exc


_engines: weakref.WeakSet[Engine] = weakref.WeakSet()


def dispose_all() -> None:
    """Close the connections of every engine opened here (the CLI does it at exit).

    Closing the last connection to a SQLite database checkpoints its WAL and removes the -wal and
    -shm files, which left to the garbage collector may not happen at exit.
    """
    for engine in list(_engines):
        engine.dispose()


def _open_database(url: str, *, migrate: bool, echo: bool, create: bool) -> Engine:
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or parsed.query.get("mode") == "memory":
            # One shared connection, or each connection would see its own empty database.
            kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
        elif not create and not Path(database).is_file():
            raise DatabaseMissing(Path(database))
        else:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = _create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
    else:
        engine = _create_engine(parsed, **kwargs)
    event.listen(engine, "handle_error", _environment_error(url))
    _engines.add(engine)
    if migrate:
        try:
            upgrade(engine)
        except BaseException:
            engine.dispose()
            raise
    return engine


def _environment_error(url: str) -> Callable[[ExceptionContext], None]:
    """A ``handle_error`` hook: a corrupt/read-only file or a lost server becomes DatabaseUnusable."""

    def hook(context: ExceptionContext) -> None:
        error = db_errors.describe(context.sqlalchemy_exception or context.original_exception, url)
        if error is not None:
            raise error from context.original_exception

    return hook


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def current_revision(engine: Engine) -> str | None:
    """The schema revision recorded in the database, or None for a database without one."""
    try:
        with engine.connect() as conn:
            value = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:
        return None  # no alembic_version table yet (a connection problem resurfaces in upgrade)
    return None if value is None else str(value)


def upgrade(engine: Engine) -> None:
    """Run the migrations up to head, unless the database is already there.

    Two processes may call this at once on a new database: the upgrade runs under a lock
    (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction-level advisory lock) and the revision is
    read again once the lock is held, so the second process finds the work done.
    """
    if current_revision(engine) == HEAD_REVISION:
        return
    with engine.connect() as conn:
        dialect = conn.dialect.name
        if dialect == "sqlite":
            _upgrade_sqlite(conn)
            return
        if dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        else:
            conn.begin()
        _upgrade_locked(conn)
        conn.commit()


def _upgrade_sqlite(conn: Connection) -> None:
    """Migrations that alter a table recreate it on SQLite (copy, drop, rename): with foreign keys on,
    dropping the old ``runs`` would cascade into every job and log line. So they are off meanwhile
    (a pragma that only works outside a transaction), and checked before the commit."""
    conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        _upgrade_locked(conn)
        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            conn.rollback()
            raise SchemaError(f"the schema upgrade would break {len(broken)} references; nothing was changed")
        conn.commit()
    finally:
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")


def _upgrade_locked(conn: Connection) -> None:
    current: str | None = None
    inspector = inspect(conn)
    if inspector.has_table("alembic_version"):
        value = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        current = None if value is None else str(value)
    if current == HEAD_REVISION:
        return
    if current is None and not inspector.get_table_names():
        create_fresh(conn)
        return
    _migrate(conn, current)


def create_fresh(conn: Connection) -> None:
    """An empty database gets the newest schema at once, stamped at HEAD_REVISION, without Alembic.

    The same tables as running every migration (a test compares the two), in a fraction of the
    time: a cold ``reefline run`` in a new project does not load Alembic or replay history.
    """
    from sqlalchemy import Column, MetaData, PrimaryKeyConstraint, String, Table

    from reefline.store.tables import metadata

    metadata.create_all(conn)
    version = Table(  # as Alembic creates it
        "alembic_version",
        MetaData(),
        Column("version_num", String(32), nullable=False),
        PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
    )
    version.create(conn)
    conn.execute(version.insert().values(version_num=HEAD_REVISION))


def _migrate(conn: Connection, current: str | None) -> None:
    from alembic import command
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    config = alembic_config()
    if current is not None:
        try:
            ScriptDirectory.from_config(config).get_revision(current)
        except CommandError as exc:
            raise SchemaError(
                f"the database is at schema revision {current!r}, which this version of Reefline does "
                "not know (was it created by a newer Reefline?): upgrade Reefline or use another database"
            ) from exc
    config.attributes["connection"] = conn
    command.upgrade(config, "head")


def alembic_config() -> Config:
    """An Alembic ``Config`` for the bundled migrations (no ``alembic.ini`` needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    return config
