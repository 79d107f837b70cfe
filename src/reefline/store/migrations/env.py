"""Alembic environment for Reefline's store.

Reefline runs migrations itself (``reefline.store.db.upgrade``) and hands over its open connection,
already inside the transaction that holds the migration lock. For developers, the bundled
``alembic.ini`` also works: ``alembic -c src/reefline/store/migrations/alembic.ini revision
--autogenerate -m "..."`` with ``-x url=sqlite:///some.db`` (or ``REEFLINE_DATABASE_URL``).
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection, create_engine

from reefline.store.tables import metadata

config = context.config


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # Batch mode makes generated ALTERs work on SQLite (copy-and-move) and is a no-op elsewhere.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    url = (
        context.get_x_argument(as_dictionary=True).get("url")
        or os.environ.get("REEFLINE_DATABASE_URL")
        or config.get_main_option("sqlalchemy.url")
    )
    if not url:
        raise SystemExit("no database: pass -x url=... or set REEFLINE_DATABASE_URL")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            _configure_and_run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_migrations_online()
