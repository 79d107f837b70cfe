"""One error type for everything a user wrote wrong: ``file:line:col: message [code]``."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

FieldPath = tuple[str | int, ...]


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
        text = f"{self.file}:{self.line}:{self.col}: {self.severity}: {self.message} [{self.code}]"
        if self.hint:
            text += f"\n  hint: {self.hint}"
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
