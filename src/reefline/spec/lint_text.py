"""Strings no command line, environment variable or path can hold: a NUL byte anywhere in the spec.

Every string of a pipeline ends up in a job's environment, its script, its argv or a file name, and
the operating system cuts (or refuses) each of them at a NUL. Found here, it is a located error;
found at run time, it would fail every job of the run at once.
"""

from __future__ import annotations

from reefline.spec.diagnostics import FieldPath
from reefline.spec.lint_report import Reporter
from reefline.spec.models import Pipeline


def check_nul_bytes(pipeline: Pipeline, r: Reporter) -> None:
    _walk(pipeline.model_dump(by_alias=True, exclude_defaults=True), (), r)


def _walk(value: object, path: FieldPath, r: Reporter) -> None:
    if isinstance(value, str):
        offset = value.find("\0")
        if offset >= 0:
            r.inside(
                "RL106",
                "invalid value: it contains a NUL byte, which no command line, environment "
                "variable or path can hold",
                path,
                offset,
                1,
                hint='remove the \\0 (in YAML, a double-quoted "\\0" is a NUL byte)',
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and "\0" in key:
                r.key("RL106", "invalid key: it contains a NUL byte", (*path, key))
            _walk(item, (*path, key), r)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _walk(item, (*path, index), r)
