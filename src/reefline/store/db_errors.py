"""Database problems that come from the environment, told as one line naming the URL or the file.

A bad ``REEFLINE_DATABASE_URL`` (unparsable, an unknown dialect, a missing driver), a server that
refuses the connection or has no such database, a SQLite file that is corrupt, truncated or
read-only: none of these is a bug, so none may reach the user as a traceback. :func:`describe`
turns the exception into a :class:`DatabaseUnusable` (a ``StoreError``: ``error: …``, exit 2), or
returns None for an error it does not recognise (a bug, which the CLI reports as one).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from reefline.store.errors import StoreError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

SUPPORTED = "Reefline supports sqlite:///PATH and postgresql+psycopg://USER@HOST/DB"
# SQLite messages that mean "this file cannot be used", not "this statement is wrong".
_SQLITE_FILE_PROBLEMS = (
    "file is not a database",
    "database disk image is malformed",
    "attempt to write a readonly database",
    "unable to open database file",
    "disk i/o error",
    "database or disk is full",
    "readonly database",
)
_HINTS = {
    "file is not a database": "move it away to start a new database",
    "database disk image is malformed": "it is corrupt or truncated; move it away to start a new database",
    "readonly": "is the project or the file read-only?",
    "unable to open database file": "does its folder exist, and can you write to it?",
    "disk i/o error": "is the disk full, or the file on a network share?",
    "database or disk is full": "free some space",
}


class DatabaseUnusable(StoreError):
    """The database cannot be reached, opened or read; the message names it (password hidden)."""


def display_url(url: str | URL) -> str:
    """The URL as it may be shown: password hidden; a SQLite URL as its file path."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", str(url))
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return str(parsed.database)
    return parsed.render_as_string(hide_password=True)


def _first_line(exc: BaseException) -> str:
    """The DB-API message without SQLAlchemy's statement dump and background link, on one line."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc)
    text = " ".join(part.strip() for part in text.splitlines() if part.strip())
    return re.sub(r"\s+", " ", text).strip() or type(exc).__name__


def _sqlite_problem(message: str) -> str | None:
    lowered = message.lower()
    return next((m for m in _SQLITE_FILE_PROBLEMS if m in lowered), None)


def describe(exc: BaseException, url: str | URL) -> DatabaseUnusable | None:
    """A user-facing error for ``exc`` raised while opening or using the database at ``url``."""
    from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError

    where = display_url(url)
    if isinstance(exc, DatabaseUnusable):
        return exc
    if isinstance(exc, NoSuchModuleError):
        scheme = str(url).split(":", 1)[0]
        return DatabaseUnusable(
            f"unsupported database {scheme!r} in REEFLINE_DATABASE_URL ({where}): {SUPPORTED}"
        )
    if isinstance(exc, ArgumentError):
        return DatabaseUnusable(f"REEFLINE_DATABASE_URL is not a database URL: {where!r}: {SUPPORTED}")
    if isinstance(exc, ImportError):
        module = exc.name or _first_line(exc)
        return DatabaseUnusable(
            f"the database driver for {where} is not installed (no module {module!r}): {SUPPORTED}"
        )
    if isinstance(exc, DBAPIError):
        message = _first_line(exc)
        problem = _sqlite_problem(message)
        if problem is not None:
            hint = next((h for key, h in _HINTS.items() if key in problem), "")
            return DatabaseUnusable(
                f"cannot use the database {where}: {message}" + (f" ({hint})" if hint else "")
            )
        if isinstance(exc, OperationalError) and (exc.connection_invalidated or _is_connect_failure(message)):
            return DatabaseUnusable(f"cannot connect to the database {where}: {message}")
        return None
    if isinstance(exc, OSError):
        reason = exc.strerror or str(exc)
        target = f" {exc.filename}" if exc.filename else ""
        return DatabaseUnusable(f"cannot open the database {where}: {reason}:{target}".rstrip(":"))
    return None


_CONNECT_FAILURES = re.compile(
    r"connection failed|connection refused|could not connect|(database|role) \"[^\"]*\" does not exist"
    r"|password authentication failed|no pg_hba\.conf entry|could not translate host name"
    r"|timeout expired|server closed the connection",
    re.IGNORECASE,
)


def _is_connect_failure(message: str) -> bool:
    return _CONNECT_FAILURES.search(message) is not None
