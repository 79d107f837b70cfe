"""``reefline.yaml`` text → :class:`LoadResult`: the pipeline model (when valid) and every diagnostic.

Loading never raises on user input: YAML errors, shape errors and lint findings all come back as
diagnostics, sorted by position.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reefline.spec.diagnostics import Diagnostic, has_errors
from reefline.spec.linter import lint
from reefline.spec.model_errors import kind_of, validation_diagnostics
from reefline.spec.models import Pipeline
from reefline.spec.policy import Policy
from reefline.spec.repair import lint_repaired
from reefline.spec.yaml_source import SourceMap, load_yaml

HIDDEN_PREFIX = "."


@dataclass(frozen=True, slots=True)
class LoadResult:
    pipeline: Pipeline | None
    diagnostics: list[Diagnostic]
    source: SourceMap
    text: str
    data: Any = None  # the raw YAML data when the text parsed (also when its shape is wrong)

    @property
    def ok(self) -> bool:
        """True when the pipeline loaded and no diagnostic is an error (warnings are fine)."""
        return self.pipeline is not None and not has_errors(self.diagnostics)


def _sorted(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return sorted(diagnostics, key=lambda d: (d.line, d.col))


def load_spec(text: str, file: str = "reefline.yaml", policy: Policy | None = None) -> LoadResult:
    """Parse, validate and lint ``text``. Never raises; ``pipeline`` is None when the shape is wrong.

    ``policy``: the allow-list the linter checks images and executors against (None: any).

    A pipeline is returned even when the linter finds errors, so callers must check
    :attr:`LoadResult.ok` (or the diagnostics) before running it.
    """
    try:
        return _load(text, file, policy)
    except Exception as exc:  # a bug in Reefline must not crash the editor or the CLI
        diag = Diagnostic(
            "RL100",
            f"internal error while reading the spec: {type(exc).__name__}: {exc}",
            file,
            1,
            1,
            hint="please report this with the file that caused it",
        )
        return LoadResult(None, [diag], SourceMap(lines=text.splitlines()), text)


def _load(text: str, file: str, policy: Policy | None) -> LoadResult:
    parsed = load_yaml(text, file)
    source = parsed.source
    diagnostics = list(parsed.diagnostics)
    if not parsed.ok:
        return LoadResult(None, _sorted(diagnostics), source, text)
    data = raw = parsed.data
    if data is None:
        diagnostics.append(
            Diagnostic(
                "RL105",
                "the file is empty",
                file,
                1,
                1,
                hint="a pipeline needs at least `version: 1`, `name:` and `jobs:`",
            )
        )
        return LoadResult(None, _sorted(diagnostics), source, text)
    if not isinstance(data, dict):
        span = source.locate(())
        diagnostics.append(
            Diagnostic(
                "RL104",
                f"expected a mapping at the top level, got {kind_of(data)}",
                file,
                span.line,
                span.col,
                span.end_line,
                span.end_col,
                hint="a pipeline starts with `version: 1`, `name:` and `jobs:`",
            )
        )
        return LoadResult(None, _sorted(diagnostics), source, text, raw)
    # Top-level keys starting with '.' hold YAML anchors for reuse (`.common: &common`), as in GitLab CI.
    data = {k: v for k, v in data.items() if not k.startswith(HIDDEN_PREFIX)}
    try:
        pipeline = Pipeline.model_validate(data)
    except ValidationError as exc:
        diagnostics.extend(validation_diagnostics(exc, data, source, file))
        diagnostics.extend(lint_repaired(exc, data, lambda p: lint(p, source, file, policy)))
        return LoadResult(None, _sorted(diagnostics), source, text, raw)
    diagnostics.extend(lint(pipeline, source, file, policy))
    return LoadResult(pipeline, _sorted(diagnostics), source, text, raw)


def load_spec_file(path: str | os.PathLike[str], policy: Policy | None = None) -> LoadResult:
    """Read and load a spec file; an unreadable file is a diagnostic too."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        diag = Diagnostic("RL101", f"cannot read the file: {exc}", str(p), 1, 1)
        return LoadResult(None, [diag], SourceMap(), "")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return LoadResult(None, [_not_utf8(exc, data, str(p))], SourceMap(), "")
    return load_spec(text, str(p), policy)


def _not_utf8(exc: UnicodeDecodeError, data: bytes, file: str) -> Diagnostic:
    """RL101 at the first byte that is not UTF-8 (column counted in characters before it)."""
    before = data[: exc.start]
    line = before.count(b"\n") + 1
    col = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", errors="replace")) + 1
    shown = " ".join(f"0x{b:02x}" for b in data[exc.start : min(exc.end, exc.start + 4)])
    return Diagnostic(
        "RL101",
        f"the file is not valid UTF-8: byte {shown} ({exc.reason})",
        file,
        line,
        col,
        hint="save the file as UTF-8",
    )
