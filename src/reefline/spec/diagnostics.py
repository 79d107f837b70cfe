"""One error type for everything a user wrote wrong: ``file:line:col: message [code]``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

FieldPath = tuple[str | int, ...]

# C0 and C1 controls, DEL, the bidirectional overrides that reorder what a terminal shows, a BOM,
# and lone surrogates (which cannot even be encoded to print).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")
_CONTROL_KEEP_NEWLINE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]"
)


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


MAX_SHOWN = 2000


def escape_controls(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with control characters (NUL, ESC, ...) written as ``\\x00``-style escapes, so a
    diagnostic quoting user text cannot drive the terminal; a huge text keeps its head and tail."""
    if len(text) > MAX_SHOWN:
        half = MAX_SHOWN // 2
        text = f"{text[:half]}…({len(text) - 2 * half:,} characters)…{text[-half:]}"
    pattern = _CONTROL_KEEP_NEWLINE if keep_newlines else _CONTROL
    return pattern.sub(_escape_char, text)


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A problem in a spec, positioned in its source. Lines and columns are 1-based."""

    code: str
    message: str
    file: str
    line: int
    col: int
    end_line: int = 0
    end_col: int = 0
    severity: Severity = Severity.ERROR
    hint: str | None = None
    path: FieldPath = field(default=())

    def format(self) -> str:
        """``file:line:col: severity: message [code]`` and an indented hint; control characters in
        user text (file name, message, hint) are escaped."""
        file, message = escape_controls(self.file), escape_controls(self.message)
        text = f"{file}:{self.line}:{self.col}: {self.severity}: {message} [{self.code}]"
        if self.hint:
            text += f"\n  hint: {escape_controls(self.hint, keep_newlines=True)}"
        return text

    def to_json(self) -> dict[str, Any]:
        """The stable ``--json`` shape; documented in the README."""
        return {
            "code": self.code,
            "severity": str(self.severity),
            "message": self.message,
            "hint": self.hint,
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "end_line": self.end_line or self.line,
            "end_col": self.end_col or self.col,
            "path": [str(p) for p in self.path],
        }


def has_errors(diagnostics: list[Diagnostic]) -> bool:
    return any(d.severity is Severity.ERROR for d in diagnostics)
