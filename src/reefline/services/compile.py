"""Spec file (or stored spec text) → validated, selected plan; user errors as ServiceError.

Only what the user wrote or passed is a user error: diagnostics, :class:`ParamError` and
:class:`PlanError` (located in the file when it names a field). Anything else is a bug and
propagates (the CLI exits 3 with ``internal error``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reefline.services import plan_cache
from reefline.services.types import RunOptions, ServiceError, SpecInvalid

if TYPE_CHECKING:  # loaded on a compile, not on a plan_cache hit
    from reefline.plan.ir import Plan
    from reefline.spec.policy import Policy


@dataclass(frozen=True)
class Compiled:
    pipeline_name: str
    plan: Plan
    params: dict[str, Any]
    text: str


def read_spec(spec_path: Path) -> str:
    try:
        return spec_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ServiceError(
            f"{spec_path}: no such file; create one with `reefline init` or pass the spec path"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ServiceError(f"{spec_path}: cannot read: {exc}") from None


def compile_text(
    text: str,
    spec_path: Path,
    options: RunOptions,
    *,
    resolved_params: Mapping[str, Any] | None = None,
    policy: Policy | None = None,
    cached: bool = False,
) -> Compiled:
    """``policy``: the allow-list, checked on the file (the linter) and on the compiled plan.
    ``cached``: reuse (and keep) the result of an identical earlier compile (:mod:`plan_cache`)."""
    if not cached:
        return _compile(text, spec_path, options, resolved_params, policy)
    key = plan_cache.key(text, options, resolved_params, policy)
    hit = plan_cache.load(key, plan_cache.CachedPlan)
    if hit is not None:
        return Compiled(hit.pipeline_name, hit.plan, hit.params, text)
    compiled = _compile(text, spec_path, options, resolved_params, policy)
    plan_cache.store(key, plan_cache.CachedPlan(compiled.pipeline_name, compiled.plan, compiled.params))
    return compiled


def _compile(
    text: str,
    spec_path: Path,
    options: RunOptions,
    resolved_params: Mapping[str, Any] | None,
    policy: Policy | None,
) -> Compiled:
    from reefline.plan.compiler import PlanError, compile_plan
    from reefline.plan.selection import select
    from reefline.services.plan_check import plan_diagnostic
    from reefline.spec import ParamError, load_spec, resolve_params
    from reefline.spec.diagnostics import has_errors

    loaded = load_spec(text, str(spec_path), policy)
    if loaded.pipeline is None or has_errors(loaded.diagnostics):
        raise SpecInvalid(loaded.diagnostics)
    try:
        params = (
            dict(resolved_params)
            if resolved_params is not None
            else resolve_params(loaded.pipeline, options.params)
        )
    except ParamError as exc:
        raise ServiceError(f"{spec_path}: {exc}") from None
    try:
        plan = select(compile_plan(loaded.pipeline, params), only=options.only, from_job=options.from_job)
    except PlanError as exc:
        if exc.path:
            raise SpecInvalid([plan_diagnostic(exc, loaded.source, str(spec_path))]) from None
        raise ServiceError(f"{spec_path}: {exc}") from None
    if policy is not None:
        from reefline.services.policy_check import plan_denials

        denied = plan_denials(plan, policy, loaded.source, str(spec_path))
        if denied:
            raise SpecInvalid(denied)
    return Compiled(loaded.pipeline.name, plan, params, text)
