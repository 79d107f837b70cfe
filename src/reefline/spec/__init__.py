"""The pipeline language: YAML with source positions, models, linter, JSON Schema.

Imports nothing else of Reefline. Public entry point: :func:`reefline.spec.load_spec`.
"""

from reefline.spec.diagnostics import Diagnostic, Severity
from reefline.spec.loader import LoadResult, load_spec, load_spec_file
from reefline.spec.matrix_size import expanded_job_count
from reefline.spec.params import ParamError, resolve_params
from reefline.spec.schema import json_schema

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
