"""RL601: images and executors outside the allow-list, reported at the key that names them.

A value inherited from ``defaults`` is reported once, at ``defaults``; a job's own value at the job.
A templated image name (``${{ matrix.image }}``) cannot be judged here: the engine checks the
compiled step again before it runs (``services/policy_check.py``).
"""

from __future__ import annotations

from typing import Any

from reefline.spec.diagnostics import FieldPath
from reefline.spec.lint_report import Reporter
from reefline.spec.models import Pipeline
from reefline.spec.policy import Policy

CODE = "RL601"
_TEMPLATE = "${{"


def _image_name(value: Any) -> str | None:
    if value is None:
        return None
    name = value if isinstance(value, str) else getattr(value, "name", None)
    return name if isinstance(name, str) else None


def check_policy(pipeline: Pipeline, policy: Policy, r: Reporter) -> None:
    reported: set[tuple[str, FieldPath]] = set()

    def image(name: str | None, path: FieldPath) -> None:
        if name is None or ("image", path) in reported or _TEMPLATE in name or policy.image_allowed(name):
            return
        reported.add(("image", path))
        r.value(CODE, policy.image_denial(name), path, policy.hint_images())

    def executor(name: str, path: FieldPath, implied: bool) -> None:
        if ("executor", path) in reported or policy.executor_allowed(name):
            return
        reported.add(("executor", path))
        message = policy.executor_denial(name) + (" (implied by `image`)" if implied else "")
        r.value(CODE, message, path, policy.hint_executors())

    defaults = pipeline.defaults
    for job_name, job in pipeline.jobs.items():
        own_image = _image_name(getattr(job, "image", None))
        image_path: FieldPath = ("jobs", job_name, "image") if own_image else ("defaults", "image")
        effective_image = own_image or _image_name(getattr(defaults, "image", None))
        image(effective_image, image_path)
        own_executor = getattr(job, "executor", None)
        default_executor = getattr(defaults, "executor", None)
        if own_executor is not None:
            executor(own_executor, ("jobs", job_name, "executor"), implied=False)
        elif default_executor is not None:
            executor(default_executor, ("defaults", "executor"), implied=False)
        elif effective_image is not None:
            executor("docker", image_path, implied=True)
        else:
            executor("local", ("jobs", job_name), implied=False)
        for service_name, service in (getattr(job, "services", None) or {}).items():
            path: FieldPath = ("jobs", job_name, "services", service_name, "image")
            image(_image_name(getattr(service, "image", None)), path)
