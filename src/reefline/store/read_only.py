"""Reading a SQLite store in a folder this process cannot write (a read-only mount, another user's).

SQLite in WAL mode needs to create ``-shm``/``-wal`` files beside the database even to read it;
where it cannot, the file is opened ``immutable``: nothing can write it from here anyway, and no
lock or shared-memory file is needed. ``store/db.py`` opens every other database.
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError

from reefline.store import db_errors


def folder_is_read_only(path: Path) -> bool:
    """True when ``path`` exists but SQLite could not create its ``-shm`` file beside it."""
    return path.is_file() and not os.access(path.parent, os.W_OK)


def open_read_only(path: Path) -> Engine:
    """An engine that only reads the SQLite file ``path`` (``mode=ro&immutable=1``)."""
    uri = f"file:{urllib.parse.quote(str(path.resolve()))}?mode=ro&immutable=1"
    url = f"sqlite:///{path}"
    engine = create_engine("sqlite://", creator=lambda: _connect(uri))
    event.listen(engine, "handle_error", _describe(url))
    return engine


def _connect(uri: str) -> Any:
    import sqlite3

    conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def _describe(url: str) -> Any:
    def hook(context: Any) -> None:
        exc: SQLAlchemyError | BaseException = context.sqlalchemy_exception or context.original_exception
        error = db_errors.describe(exc, url)
        if error is not None:
            raise error from context.original_exception

    return hook
