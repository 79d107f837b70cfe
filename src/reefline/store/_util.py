"""Small helpers shared by the repo modules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, CursorResult, Insert, Table, Update, bindparam

from reefline.engine.states import ACTIVE_RUN_STATES as _ACTIVE

ACTIVE_RUN_STATES = tuple(sorted(str(state) for state in _ACTIVE))


def insert_ignoring_conflicts(conn: Connection, table: Table, index_elements: list[str]) -> Insert:
    """``INSERT … ON CONFLICT DO NOTHING`` where the dialect has it, a plain insert elsewhere."""
    name = conn.dialect.name
    # Imported here: each dialect module costs ~20 ms at start-up, and a run needs only one.
    if name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table).on_conflict_do_nothing(index_elements=index_elements)
    if name == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table).on_conflict_do_nothing(index_elements=index_elements)
    return table.insert()


ID_PARAM = "b_id"  # bind name of the row id in updates whose SET clause comes from the parameters


def update_by_id(table: Table) -> Update:
    """``UPDATE table SET <the parameters' columns> WHERE id = :b_id``, built once and reused.

    Reusing one statement object skips SQLAlchemy's per-call construction and cache-key work
    (most of the cost of a one-row update on SQLite); the SET clause follows the parameter names.
    """
    return table.update().where(table.c.id == bindparam(ID_PARAM))


def check_columns(table: Table, values: Iterable[str]) -> None:
    """Refuse unknown column names with a clear message (SQLAlchemy would ignore or garble them)."""
    unknown = [name for name in values if name not in table.c or name == "id"]
    if unknown:
        raise ValueError(f"{table.name} has no settable column(s) {', '.join(sorted(unknown))}")


def inserted_id(result: CursorResult[Any]) -> int:
    """The primary key of the row a single-row insert created."""
    key = result.inserted_primary_key
    assert key is not None, "not a single-row insert"
    return int(key[0])
