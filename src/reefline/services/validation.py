"""Validate spec text: every diagnostic at once plus the job counts, as ``reefline validate`` reports.

Shared by the CLI, the API's validation endpoint and pushes, so all of them say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reefline.services import plan_cache
from reefline.spec.diagnostics import Diagnostic

if TYPE_CHECKING:
    from reefline.plan.ir import Plan
    from reefline.spec.loader import LoadResult
    from reefline.spec.policy import Policy


@dataclass(frozen=True)
class ValidationReport:
    file: str
    diagnostics: list[Diagnostic]
    jobs: int | None  # after matrix expansion (counted, never expanded, for a spec with errors)
    definitions: int | None  # the jobs written in the file

    @property
    def valid(self) -> bool:
        return not any(str(d.severity) == "error" for d in self.diagnostics)


def validate_text(text: str, file: str = "reefline.yaml") -> ValidationReport:
    from reefline.spec import load_spec

    return report_for(load_spec(text, file), file)[0]


def validate_file(file: str, policy: Policy | None = None) -> ValidationReport:
    """`reefline validate` of the file at ``file`` (shown as given): reused when the same text was
    found valid before under the same name, policy and Reefline (:mod:`plan_cache`)."""
    try:
        text: str | None = Path(file).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        text = None  # load_spec_file says where
    if text is None:
        from reefline.spec import load_spec_file

        return report_for(load_spec_file(Path(file), policy), file, policy)[0]
    key = plan_cache.validation_key(text, file, policy)
    hit = plan_cache.load(key, ValidationReport)
    if hit is not None:
        return hit
    from reefline.spec import load_spec

    report = report_for(load_spec(text, file, policy), file, policy)[0]
    if report.valid:  # a spec with errors is being edited: the next validation sees other text
        plan_cache.store(key, report)
    return report


def report_for(
    result: LoadResult, file: str, policy: Policy | None = None
) -> tuple[ValidationReport, Plan | None]:
    """The report on a loaded spec, and its plan with the default params when it has no errors.

    ``policy``: also judge the plan's images (a matrix value or param may name one) against it."""
    from reefline.services.plan_check import check_plan
    from reefline.spec.matrix_size import expanded_job_count

    plan, plan_diagnostics = check_plan(result, file)
    if plan is not None and policy is not None:
        from reefline.services.policy_check import plan_denials

        plan_diagnostics = [*plan_diagnostics, *plan_denials(plan, policy, result.source, file)]
    jobs: int | None = None
    definitions: int | None = None
    if result.pipeline is not None:
        definitions = len(result.pipeline.jobs)
        jobs = len(plan.steps) if plan is not None else expanded_job_count(result.pipeline)
    return ValidationReport(file, [*result.diagnostics, *plan_diagnostics], jobs, definitions), plan
