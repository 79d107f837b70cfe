"""``reefline logs RUN JOB --full``: a job's whole log, also the part the store left out.

An attempt whose output went past the cap (see :mod:`reefline.engine.logcap`) has its whole log in
a gzip file beside the artifacts; it is read from there, followed by the lines the engine itself
wrote about that attempt. Attempts without such a file are read from the store as they are.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from reefline.engine.logcap import full_log_path, logs_root, read_full_log
from reefline.store import repo

if TYPE_CHECKING:
    import sqlalchemy as sa

    from reefline.store.rows import JobRow, LogRow

_PAGE = 10_000


def iter_full_log(project_dir: Path, run_ref: str, job: str) -> Iterator[tuple[str, float, str]]:
    """Yield (stream, unix time, text) of every attempt of ``job``, oldest attempt first."""
    from reefline.services.project import open_reader_db

    db = open_reader_db(project_dir)
    with db.connect() as conn:
        run_id = repo.resolve_run_ref(conn, run_ref, str(project_dir.resolve()))
        run = repo.get_run(conn, run_id)
        job_row = repo.get_job_by_name(conn, run_id, job)
    yield from iter_job_full_log(db, run_id, job_row, logs_root(Path(run.workspace)))


def iter_job_full_log(
    db: sa.Engine, run_id: int, job_row: JobRow, root: Path
) -> Iterator[tuple[str, float, str]]:
    """Yield (stream, unix time, text) of every attempt of a job whose full logs are under ``root``
    (:func:`~reefline.engine.logcap.logs_root` of the run's workspace)."""
    stored = _stored_lines(db, run_id, job_row.id)
    numbers = sorted({row.attempt for row in stored} | set(range(1, (job_row.attempts or 0) + 1)))
    for number in numbers:
        rows = [row for row in stored if row.attempt == number]
        path = full_log_path(root, run_id, job_row.id, number)
        if not path.is_file():
            for row in rows:
                yield row.stream, row.ts, row.text
            continue
        seen: set[tuple[float, str]] = set()
        for stream, ts, text in read_full_log(path):
            if stream == "system":
                seen.add((round(ts, 6), text))
            yield stream, ts, text
        for row in rows:  # what the engine wrote about the attempt (retries, internal errors)
            engine_line = (round(row.ts, 6), row.text) not in seen and " omitted (" not in row.text
            if row.stream == "system" and engine_line:
                yield row.stream, row.ts, row.text


def _stored_lines(db: sa.Engine, run_id: int, job_id: int) -> list[LogRow]:
    rows: list[LogRow] = []
    after = 0
    with db.connect() as conn:
        while True:
            page = repo.read_logs(conn, run_id, job_id=job_id, after_id=after, limit=_PAGE)
            rows.extend(page)
            if len(page) < _PAGE:
                return rows
            after = page[-1].id
