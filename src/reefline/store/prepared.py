"""Server-side prepared statements for a burst of small queries of a few shapes (a trace).

psycopg prepares a statement on PostgreSQL from its fifth execution on a connection; until then the
server plans it every time. A trace frame's query plans in about 1.4 ms and runs in 0.2 ms, and a
10-frame trace runs ~50 of them, so the trace prepares its statements from their first use
(``bench/trace.py``: 58 -> 41 ms at 100,000 attempts). Other drivers (SQLite) are left as they are.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection


@contextmanager
def prepared_from_first_use(conn: Connection) -> Iterator[None]:
    """Within the block, psycopg prepares every statement of ``conn`` on its first execution;
    afterwards the connection (back in the pool) has its usual threshold again."""
    driver = conn.connection.dbapi_connection
    threshold = getattr(driver, "prepare_threshold", None)
    if threshold is None:
        yield
        return
    driver.prepare_threshold = 0  # type: ignore[union-attr]
    try:
        yield
    finally:
        driver.prepare_threshold = threshold  # type: ignore[union-attr]
