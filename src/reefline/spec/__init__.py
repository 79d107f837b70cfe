"""The pipeline language: YAML with source positions, models, linter, JSON Schema.

Imports nothing else of Reefline. Public entry point: :func:`reefline.spec.load_spec`.

The names below load on first use: importing a light submodule (``reefline.spec.policy``,
``reefline.spec.matrix_size``) does not load the models and the linter.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reefline.spec.diagnostics import Diagnostic, Severity
    from reefline.spec.loader import LoadResult, load_spec, load_spec_file
    from reefline.spec.matrix_size import expanded_job_count
    from reefline.spec.params import ParamError, resolve_params
    from reefline.spec.schema import json_schema

_HOMES = {
    "Diagnostic": "diagnostics",
    "Severity": "diagnostics",
    "LoadResult": "loader",
    "load_spec": "loader",
    "load_spec_file": "loader",
    "expanded_job_count": "matrix_size",
    "ParamError": "params",
    "resolve_params": "params",
    "json_schema": "schema",
}

__all__ = [
    "Diagnostic",
    "LoadResult",
    "ParamError",
    "Severity",
    "expanded_job_count",
    "json_schema",
    "load_spec",
    "load_spec_file",
    "resolve_params",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
