"""Text that any job may produce, stored identically (and byte-exactly) on SQLite and PostgreSQL.

PostgreSQL text cannot hold NUL, and neither database driver accepts lone surrogates (what
``surrogateescape`` makes of undecodable file names). Such a string is stored as ``MARK`` followed
by an escaped form: backslashes doubled, NUL as ``\\0``, a lone surrogate as ``\\uXXXX``. Every
other string is stored as it is (so existing rows and ``WHERE name = …`` keep working); a string
that happens to start with ``MARK`` is escaped too, so reading back is always exact.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

MARK = "\ue000"  # a private-use character: never printed by a tool, so never ambiguous in practice
_UNSAFE = re.compile("[\x00\ud800-\udfff]")
_TO_ESCAPE = re.compile("[\\\\\x00\ud800-\udfff]")
_UNSAFE_OR_MARK = re.compile("[\x00\ud800-\udfff\ue000]")
_ESCAPED = re.compile(r"\\(\\|0|u[0-9a-f]{4})")


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\\":
        return "\\\\"
    if char == "\x00":
        return "\\0"
    return f"\\u{ord(char):04x}"


def _unescape_char(match: re.Match[str]) -> str:
    code = match.group(1)
    if code == "\\":
        return "\\"
    if code == "0":
        return "\x00"
    return chr(int(code[1:], 16))


def encode(text: str) -> str:
    """What the database stores for ``text`` (``text`` itself unless it needs escaping)."""
    if not needs_encoding(text) or (_UNSAFE.search(text) is None and not text.startswith(MARK)):
        return text
    return MARK + _TO_ESCAPE.sub(_escape_char, text)


def needs_encoding(text: str) -> bool:
    """False if :func:`encode` leaves ``text``, and every line of it, as it is (``text`` may join many)."""
    if text.isascii():  # the usual case, and a C scan an order of magnitude faster than the regex
        return "\x00" in text
    return _UNSAFE_OR_MARK.search(text) is not None


def decode(stored: str) -> str:
    """The inverse of :func:`encode`."""
    if not stored.startswith(MARK):
        return stored
    return _ESCAPED.sub(_unescape_char, stored[len(MARK) :])


class SafeText(TypeDecorator[str]):
    """``Text`` that takes any Python string (see the module docstring)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return encode(value) if isinstance(value, str) else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return decode(value) if isinstance(value, str) else value


class SafeString(TypeDecorator[str]):
    """``String(length)`` that takes any Python string (see the module docstring)."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return encode(value) if isinstance(value, str) else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return decode(value) if isinstance(value, str) else value
