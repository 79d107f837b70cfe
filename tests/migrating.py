"""Databases of an older schema, for the migration tests: migrated only up to a revision, with rows
written as that schema had them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, text

from reefline.store.db import alembic_config, open_database


def database_at(store_url: str, revision: str, statements: Sequence[str] = ()) -> Engine:
    """The database at ``store_url`` migrated up to ``revision`` (not further), then ``statements``
    run in the same transaction."""
    from alembic import command

    engine = open_database(store_url, migrate=False)
    with engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        for statement in statements:
            conn.execute(text(statement))
    return engine
