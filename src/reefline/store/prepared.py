"""Plan once, run many: a burst of small point lookups of a few shapes (a trace) on PostgreSQL.

A trace frame's query plans in about 1.4 ms and runs in 0.02 ms, and a 10-frame trace runs ~40
queries of ~6 shapes. psycopg prepares a statement only from its fifth execution on a connection,
and even prepared, PostgreSQL kept re-planning the frame query on every execution (it judged the
generic plan costlier than the custom ones). Inside :func:`planned_once`, each statement is prepared
at its first execution and executed with its generic plan: ``bench/trace.py`` at 1,000,000 attempts,
a 10-frame trace 22-25 ms -> 8 ms. Every statement of a trace looks rows up by primary key, foreign
key or ``sha256`` through an index, which a generic plan does as well as a custom one.
Other drivers (SQLite) are left as they are.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError


@contextmanager
def planned_once(conn: Connection) -> Iterator[None]:
    """Within the block, ``conn``'s statements are prepared at their first execution and use generic
    plans; afterwards the connection (back in the pool) plans and prepares as usual again."""
    driver = conn.connection.dbapi_connection
    threshold = getattr(driver, "prepare_threshold", None)
    if conn.dialect.name != "postgresql" or threshold is None:
        yield
        return
    conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    driver.prepare_threshold = 0  # type: ignore[union-attr]
    try:
        yield
    except DBAPIError:
        raise  # the transaction is aborted: the setting ends with its rollback (SET LOCAL)
    except BaseException:
        _usual_plans(conn)  # e.g. a trace's NotFound: the caller may go on in this transaction
        raise
    else:
        _usual_plans(conn)
    finally:
        driver.prepare_threshold = threshold  # type: ignore[union-attr]


def _usual_plans(conn: Connection) -> None:
    conn.exec_driver_sql("SET LOCAL plan_cache_mode = DEFAULT")
