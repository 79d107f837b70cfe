"""The allow-list checked again on a compiled plan, right before a run is recorded or executed.

The linter judges what the file says; this judges what will run: an image name rendered from a
matrix value or a param, and a policy that changed since the spec was pushed. Each denial is an
RL601 diagnostic at the job's ``image`` (``executor``) key when a source map is at hand.
"""

from __future__ import annotations

from reefline.plan.ir import Plan, Step
from reefline.spec.diagnostics import Diagnostic, FieldPath
from reefline.spec.lint_policy import CODE
from reefline.spec.policy import Policy
from reefline.spec.yaml_source import SourceMap, diagnostic_at


def plan_denials(
    plan: Plan, policy: Policy, source: SourceMap | None = None, file: str = "reefline.yaml"
) -> list[Diagnostic]:
    """One diagnostic per distinct denied (job, image or executor) of ``plan``."""
    found: dict[tuple[str, str], Diagnostic] = {}
    where = source or SourceMap()

    def deny(message: str, hint: str, path: FieldPath, step: Step) -> None:
        key = (step.job, message)
        if key not in found:
            text = f"{message}, for job '{step.id}'"
            found[key] = diagnostic_at(
                where.locate(path), code=CODE, message=text, file=file, path=path, hint=hint
            )

    for step in plan.steps:
        if not policy.executor_allowed(step.executor):
            path: FieldPath = ("jobs", step.job, "executor")
            deny(policy.executor_denial(step.executor), policy.hint_executors(), path, step)
        if step.image is not None and not policy.image_allowed(step.image.name):
            path = ("jobs", step.job, "image")
            deny(policy.image_denial(step.image.name), policy.hint_images(), path, step)
        for service in step.services:
            if not policy.image_allowed(service.image.name):
                path = ("jobs", step.job, "services", service.name, "image")
                deny(policy.image_denial(service.image.name), policy.hint_images(), path, step)
    return list(found.values())
