"""Plan errors as located diagnostics, and ``validate``'s compile with the default params.

Imports only :mod:`reefline.plan` and :mod:`reefline.spec` (no store), so ``validate`` stays quick.
"""

from __future__ import annotations

from reefline.plan.compiler import PlanError, compile_plan
from reefline.plan.ir import Plan
from reefline.spec import LoadResult, ParamError, resolve_params
from reefline.spec.diagnostics import Diagnostic, has_errors
from reefline.spec.yaml_source import SourceMap, diagnostic_at


def plan_diagnostic(exc: PlanError, source: SourceMap, file: str) -> Diagnostic:
    """A plan error about a field, at that field's place in the file (its template, for a path)."""
    return diagnostic_at(
        source.locate(exc.path), code=exc.code, message=exc.message, file=file, path=exc.path, hint=exc.hint
    )


def check_plan(loaded: LoadResult, file: str) -> tuple[Plan | None, list[Diagnostic]]:
    """For ``validate``: compile a spec that has no errors with its default params, so what only
    shows after rendering (a path leaving the workspace, two writers of one path) is reported too."""
    if loaded.pipeline is None or has_errors(loaded.diagnostics):
        return None, []
    try:
        return compile_plan(loaded.pipeline, resolve_params(loaded.pipeline, {})), []
    except PlanError as exc:
        return None, [plan_diagnostic(exc, loaded.source, file)]
    except ParamError as exc:
        return None, [Diagnostic("RL507", str(exc), file, 1, 1, path=("params",))]
