"""The linter's output side: positioned diagnostics built from field paths."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

from reefline.spec.diagnostics import Diagnostic, FieldPath, Severity
from reefline.spec.yaml_source import SourceMap, Span, diagnostic_at


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


@dataclass(slots=True)
class Reporter:
    source: SourceMap
    file: str
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def at(  # noqa: PLR0917
        self,
        code: str,
        message: str,
        span: Span,
        path: FieldPath,
        hint: str | None = None,
        severity: Severity = Severity.ERROR,
    ) -> None:
        self.diagnostics.append(
            diagnostic_at(
                span, code=code, message=message, file=self.file, path=path, hint=hint, severity=severity
            )
        )

    def value(
        self,
        code: str,
        message: str,
        path: FieldPath,
        hint: str | None = None,
        severity: Severity = Severity.ERROR,
    ) -> None:
        """At the value of ``path`` (or its nearest ancestor)."""
        self.at(code, message, self.source.locate(path), path, hint, severity)

    def key(
        self,
        code: str,
        message: str,
        path: FieldPath,
        hint: str | None = None,
        severity: Severity = Severity.ERROR,
    ) -> None:
        """At the key of ``path`` (falls back to its value)."""
        self.at(code, message, self.source.key_or_value(path), path, hint, severity)

    def inside(  # noqa: PLR0917
        self,
        code: str,
        message: str,
        path: FieldPath,
        offset: int,
        length: int,
        hint: str | None = None,
        severity: Severity = Severity.ERROR,
    ) -> None:
        """At characters ``offset:offset+length`` of the string value at ``path``."""
        self.at(code, message, self.source.scalar_position(path, offset, length), path, hint, severity)
