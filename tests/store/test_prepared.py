"""A trace's burst of queries is prepared on PostgreSQL from the first use; the pool gets its
connection back as it was."""

from __future__ import annotations

from sqlalchemy import Engine, text

from reefline.store.prepared import prepared_from_first_use


def test_prepared_from_first_use_then_restored(store_engine: Engine) -> None:
    with store_engine.connect() as conn:
        driver = conn.connection.dbapi_connection
        before = getattr(driver, "prepare_threshold", None)
        with prepared_from_first_use(conn):
            assert getattr(driver, "prepare_threshold", None) == (None if before is None else 0)
            assert conn.execute(text("SELECT 1")).scalar() == 1
        assert getattr(driver, "prepare_threshold", None) == before
        if before is not None:  # psycopg: the statement was prepared at its first execution
            assert any(b"SELECT 1" in key[0] for key in driver._prepared._names)  # type: ignore[union-attr]


def test_restored_when_the_block_raises(store_engine: Engine) -> None:
    with store_engine.connect() as conn:
        driver = conn.connection.dbapi_connection
        before = getattr(driver, "prepare_threshold", None)
        try:
            with prepared_from_first_use(conn):
                raise RuntimeError("boom")
        except RuntimeError:
            pass
        assert getattr(driver, "prepare_threshold", None) == before
