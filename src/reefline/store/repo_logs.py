"""Log lines: appended in batches by the engine, read (and followed) by the CLI and the UI.

Every line carries ``seq``, its number within its attempt (0, 1, 2, …, given where the line was
produced, see :mod:`reefline.engine.logcap`); ``(job_id, attempt, seq)`` is unique, so writing a
batch twice (a flush retried after its commit was lost) stores each line once. Readers of one job
page by ``(attempt, seq)``, which cannot skip a line committed late; a run's interleaved view is
ordered by ``id`` (the order lines were written) and followed with :class:`RunLogCursor`.

Functions take an open connection and never commit: callers own the transaction.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Engine, Insert, bindparam, func, select, text, tuple_

from reefline.store._util import insert_ignoring_conflicts
from reefline.store.row_maker import columns_in_order, row_maker
from reefline.store.rows import LogRow
from reefline.store.safe_text import encode, needs_encoding
from reefline.store.tables import log_lines

LATE_GRACE = 10.0
"""Seconds a line may commit after lines with higher ids and still be found by a follower."""
LATE_CHECK_EVERY = 1.0
"""Seconds between a follower's looks for late lines (an aggregate over the grace window)."""

_UNIQUE = ["job_id", "attempt", "seq"]
_INSERTS: dict[str, Insert] = {}
_LINE = columns_in_order(LogRow, log_lines.c)  # positional rows: a 50,000-line follow builds them all
_RUN_LINES = (
    select(*_LINE)
    .where(log_lines.c.run_id == bindparam("run_id"), log_lines.c.id > bindparam("after_id"))
    .order_by(log_lines.c.id)
    .limit(bindparam("limit"))
)
_JOB_LINES = (
    select(*_LINE)
    .where(
        log_lines.c.run_id == bindparam("run_id"),
        log_lines.c.job_id == bindparam("job_id"),
        log_lines.c.id > bindparam("after_id"),
    )
    .order_by(log_lines.c.id)
    .limit(bindparam("limit"))
)
_JOB_LINES_BY_SEQ = (  # a row-value comparison: one range of the unique index, on both dialects
    select(*_LINE)
    .where(
        log_lines.c.job_id == bindparam("job_id"),
        tuple_(log_lines.c.attempt, log_lines.c.seq) > tuple_(bindparam("attempt"), bindparam("seq")),
    )
    .order_by(log_lines.c.attempt, log_lines.c.seq)
    .limit(bindparam("limit"))
)
_log_row = row_maker(LogRow, _RUN_LINES)
_MAX_SEQ = select(func.max(log_lines.c.seq)).where(
    log_lines.c.job_id == bindparam("job_id"), log_lines.c.attempt == bindparam("attempt")
)


_LINE_COLUMNS = ("run_id", "job_id", "attempt", "ts", "stream", "text", "seq")
_PG_TYPES = ("integer", "integer", "integer", "double precision", "varchar", "text", "bigint")
# PostgreSQL: a batch is one statement, its columns one JSON array each, zipped back into rows (an
# executemany is a statement per line: a 10 MB log of 50,000 lines cost the database 50,000
# inserts; and psycopg dumps a Python list as an array element by element, in Python, where
# json.dumps of the column is one C call). Rows are taken in the batch's order, so ids follow it.
_PG_INSERT = text(
    f"INSERT INTO log_lines ({', '.join(_LINE_COLUMNS)}) SELECT "
    + ", ".join(f"CAST(b.{c} AS {t})" for c, t in zip(_LINE_COLUMNS, _PG_TYPES, strict=True))
    + " FROM ROWS FROM ("
    + ", ".join(f"json_array_elements_text(CAST(:{c} AS json))" for c in _LINE_COLUMNS)
    + f") WITH ORDINALITY AS b({', '.join(_LINE_COLUMNS)}, position) ORDER BY b.position "
    "ON CONFLICT (job_id, attempt, seq) DO NOTHING"
)


def insert_log_lines(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Append lines (dicts with run_id, job_id, attempt, seq, ts, stream, text) in one statement
    (PostgreSQL) or one executemany (SQLite).

    A line whose ``(job_id, attempt, seq)`` is already stored is left out, not an error.
    """
    if not rows:
        return
    name = conn.dialect.name
    if name == "postgresql":
        conn.execute(_PG_INSERT, _columns_of(rows))
        return
    statement = _INSERTS.get(name)
    if statement is None:
        statement = _INSERTS[name] = insert_ignoring_conflicts(conn, log_lines, _UNIQUE)
    conn.execute(statement, rows)


def _columns_of(rows: list[dict[str, Any]]) -> dict[str, str]:
    """Each column of the rows as a JSON array; text as SafeText stores it (no NUL, no lone
    surrogate), in UTF-8 as a text parameter would be, so the database decodes no ``\\u`` escapes."""
    columns = {c: json.dumps([row[c] for row in rows]) for c in _LINE_COLUMNS if c != "text"}
    texts = [row["text"] for row in rows]
    if needs_encoding("\n".join(texts)):  # one scan of the batch; a line at a time only if needed
        texts = [encode(t) for t in texts]
    columns["text"] = json.dumps(texts, ensure_ascii=False)
    return columns


def read_logs(
    conn: Connection, run_id: int, *, job_id: int | None = None, after_id: int = 0, limit: int = 1000
) -> list[LogRow]:
    """Up to ``limit`` lines of a run (or one of its jobs) with id > ``after_id``, in id order.

    For display. A follower that must not miss a line uses :func:`read_job_logs` (one job) or
    :class:`RunLogCursor` (a run): ids may commit out of order when several processes write.
    """
    params = {"run_id": run_id, "after_id": after_id, "limit": limit}
    if job_id is None:
        result = conn.execute(_RUN_LINES, params)
    else:
        result = conn.execute(_JOB_LINES, {**params, "job_id": job_id})
    return [_log_row(row) for row in result.fetchall()]  # one fetch, not a driver call per row


def read_job_logs(
    conn: Connection, job_id: int, *, after: tuple[int, int] = (0, -1), limit: int = 1000
) -> list[LogRow]:
    """Up to ``limit`` lines of a job after the cursor ``after`` = (attempt, seq), in that order.

    To follow, call again with the (attempt, seq) of the last line returned.
    """
    params = {"job_id": job_id, "attempt": after[0], "seq": after[1], "limit": limit}
    return [_log_row(row) for row in conn.execute(_JOB_LINES_BY_SEQ, params).fetchall()]


def max_log_seq(conn: Connection, job_id: int, attempt: int) -> int | None:
    """The highest line number stored for an attempt (None: no line yet)."""
    value = conn.execute(_MAX_SEQ, {"job_id": job_id, "attempt": attempt}).scalar()
    return None if value is None else int(value)


class RunLogCursor:
    """Follows the interleaved log of a run, in id order, yielding every line exactly once.

    A scan yields the lines with ids above the highest id yielded so far, page by page, and before
    them the lines that committed late: lines with lower ids that were not visible when the higher
    ones were read (another writer's transaction was slower). It finds those with a high-water mark
    per (job, attempt), the highest ``seq`` yielded: one attempt's lines are written by one engine
    in ``seq`` order, so a line still to come is always above its attempt's mark. Late lines are
    looked for among the ids of the last :data:`LATE_GRACE` seconds of scans (one aggregate query,
    at most every :data:`LATE_CHECK_EVERY` seconds); a line whose transaction commits more than
    ``LATE_GRACE - LATE_CHECK_EVERY`` seconds after its insert may be missed.
    """

    def __init__(
        self,
        run_id: int,
        *,
        late_grace: float = LATE_GRACE,
        late_check_every: float = LATE_CHECK_EVERY,
        page: int = 1000,
    ) -> None:
        self.run_id = run_id
        self.late_grace = late_grace
        self.late_check_every = late_check_every
        self.page = page
        self.high: dict[tuple[int, int], int] = {}
        self.top = 0  # the highest id yielded
        self._marks: deque[tuple[float, int]] = deque()  # (scan start, top then), oldest first
        self._late_checked = -late_check_every

    @classmethod
    def resume(cls, conn: Connection, run_id: int, top: int, **options: Any) -> RunLogCursor:
        """A cursor that goes on after the line ``top`` (an SSE client's Last-Event-ID): its marks
        are the highest ``seq`` per attempt among the lines up to ``top``."""
        cursor = cls(run_id, **options)
        c = log_lines.c
        found = conn.execute(
            select(c.job_id, c.attempt, func.max(c.seq))
            .where(c.run_id == run_id, c.id <= top)
            .group_by(c.job_id, c.attempt)
        )
        cursor.high = {(int(job_id), int(attempt)): int(seq) for job_id, attempt, seq in found}
        cursor.top = top
        return cursor

    def _window_start(self) -> int:
        """Below this id, every line was committed more than the grace period ago and was seen."""
        now = time.monotonic()
        self._marks.append((now, self.top))
        start = 0
        while self._marks and self._marks[0][0] <= now - self.late_grace:
            start = self._marks.popleft()[1]
        if start:
            self._marks.appendleft((now - self.late_grace, start))
        return start

    def scan(self, db: Engine) -> Iterator[LogRow]:
        """The lines not yielded yet, late ones first, then new ones in id order (a connection per page)."""
        start, top = self._window_start(), self.top
        now = time.monotonic()
        if top > start and now - self._late_checked >= self.late_check_every:
            self._late_checked = now
            with db.connect() as conn:
                late = self._late_lines(conn, start, top)
            yield from self._taken(late)
        while True:
            with db.connect() as conn:
                rows = read_logs(conn, self.run_id, after_id=self.top, limit=self.page)
            yield from self._taken(rows)
            if len(rows) < self.page:
                return

    def _late_lines(self, conn: Connection, start: int, top: int) -> list[LogRow]:
        c = log_lines.c
        window = (c.run_id == self.run_id, c.id > start, c.id <= top)
        found = conn.execute(
            select(c.job_id, c.attempt, func.max(c.seq)).where(*window).group_by(c.job_id, c.attempt)
        )
        late: list[LogRow] = []
        for job_id, attempt, high in found:
            mark = self.high.get((job_id, attempt), -1)
            if high > mark:
                query = select(log_lines).where(
                    *window, c.job_id == job_id, c.attempt == attempt, c.seq > mark
                )
                late.extend(LogRow(**row._mapping) for row in conn.execute(query))
        return sorted(late, key=lambda row: row.id)

    def _taken(self, rows: list[LogRow]) -> Iterator[LogRow]:
        for row in rows:
            key = (row.job_id, row.attempt)
            self.high[key] = max(self.high.get(key, -1), row.seq)
            self.top = max(self.top, row.id)
            yield row
