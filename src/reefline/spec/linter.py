"""Cross-checks of a shape-valid :class:`Pipeline`: every problem at once, each with a stable code.

The checks live in small modules (``lint_jobs``, ``lint_graph``, ``lint_refs``); this one only runs
them in order and returns the diagnostics. Positions come from the loader's :class:`SourceMap`.
"""

from __future__ import annotations

from reefline.spec.diagnostics import Diagnostic
from reefline.spec.lint_graph import (
    check_cycles,
    check_edge_types,
    check_stage_order,
    check_types,
    collect_edges,
)
from reefline.spec.lint_jobs import (
    check_durations,
    check_jobs,
    check_names_and_stages,
    check_params,
    check_unsupported,
)
from reefline.spec.lint_matrix import check_size
from reefline.spec.lint_outputs import check_rendered_paths
from reefline.spec.lint_policy import check_policy
from reefline.spec.lint_refs import check_conditions, check_templates
from reefline.spec.lint_report import Reporter
from reefline.spec.lint_text import check_nul_bytes
from reefline.spec.models import Pipeline
from reefline.spec.policy import Policy
from reefline.spec.types import TypeRegistry
from reefline.spec.yaml_source import SourceMap


def lint(
    pipeline: Pipeline,
    source: SourceMap | None = None,
    file: str = "reefline.yaml",
    policy: Policy | None = None,
) -> list[Diagnostic]:
    """All lint findings for ``pipeline``, unsorted. Without a source map every position is 1:1.

    ``policy``: the allow-list of images and executors (RL601); None allows everything."""
    r = Reporter(source or SourceMap(), file)
    registry = TypeRegistry(pipeline.types)
    check_unsupported(pipeline, r)
    check_nul_bytes(pipeline, r)
    check_names_and_stages(pipeline, r)
    check_params(pipeline, r)
    check_durations(pipeline, r)
    check_jobs(pipeline, r)
    if policy is not None:
        check_policy(pipeline, policy, r)
    edges = collect_edges(pipeline, r)
    check_stage_order(pipeline, edges, r)
    check_cycles(pipeline, edges, r)
    check_types(pipeline, registry, r)
    check_edge_types(pipeline, edges, registry, r)
    check_templates(pipeline, r)
    check_conditions(pipeline, r)
    if check_size(pipeline, r):  # expanding anything is only safe within the job limit
        check_rendered_paths(pipeline, r)
    return r.diagnostics
