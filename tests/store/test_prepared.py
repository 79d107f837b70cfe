"""A trace's burst of queries is planned once on PostgreSQL (prepared at first use, generic plans);
the pool gets its connection back as it was, also when the block fails."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from reefline.store.prepared import planned_once

_GENERIC_PLANS = "SELECT generic_plans FROM pg_prepared_statements WHERE statement LIKE 'SELECT $1 + 1%'"


def _plan_cache_mode(conn: Connection) -> str | None:
    if conn.dialect.name != "postgresql":
        return None
    return str(conn.exec_driver_sql("SHOW plan_cache_mode").scalar())


def test_planned_once_then_restored(store_engine: Engine) -> None:
    with store_engine.connect() as conn:
        driver = conn.connection.dbapi_connection
        before = getattr(driver, "prepare_threshold", None)
        mode = _plan_cache_mode(conn)
        with planned_once(conn):
            postgres = conn.dialect.name == "postgresql"
            assert getattr(driver, "prepare_threshold", None) == (0 if postgres else before)
            assert _plan_cache_mode(conn) == ("force_generic_plan" if postgres else None)
            assert conn.execute(text("SELECT :n + 1"), {"n": 1}).scalar() == 2
            if postgres:  # prepared at its first execution, run with its generic plan
                plans = conn.execute(text(_GENERIC_PLANS)).scalar()
                assert plans == 1
        assert getattr(driver, "prepare_threshold", None) == before
        assert _plan_cache_mode(conn) == mode


def test_restored_when_the_block_raises(store_engine: Engine) -> None:
    """A trace's NotFound leaves the transaction usable, with the usual plans again."""
    with store_engine.connect() as conn:
        driver = conn.connection.dbapi_connection
        before = getattr(driver, "prepare_threshold", None)
        mode = _plan_cache_mode(conn)
        with pytest.raises(RuntimeError), planned_once(conn):
            raise RuntimeError("boom")
        assert getattr(driver, "prepare_threshold", None) == before
        assert _plan_cache_mode(conn) == mode  # in the same transaction, no rollback


def test_a_failed_statement_leaves_it_to_the_rollback(store_engine: Engine) -> None:
    """A database error aborts the transaction; the error is the one raised, and the rollback ends
    the setting."""
    with store_engine.connect() as conn:
        driver = conn.connection.dbapi_connection
        before = getattr(driver, "prepare_threshold", None)
        mode = _plan_cache_mode(conn)
        with pytest.raises(DBAPIError, match="no_such_table"), planned_once(conn):
            conn.execute(text("SELECT * FROM no_such_table"))
        conn.rollback()
        assert getattr(driver, "prepare_threshold", None) == before
        assert _plan_cache_mode(conn) == mode
