"""Checks of matrices: values that would give two expansions one name, and the pipeline's size.

Expansions are named from formatted values (``train[x=1]``), and the planner matches producer and
consumer expansions by value, so ``[1, "1"]`` (same name) or ``[1, 1.0, true]`` (equal values)
would silently merge jobs. Both are errors at the second value. The size is computed from the axis
lengths before anything is expanded (:mod:`reefline.spec.matrix_size`).
"""

from __future__ import annotations

import math
from typing import Any

from reefline.spec.diagnostics import FieldPath
from reefline.spec.lint_report import Reporter
from reefline.spec.matrix_size import MAX_JOBS_ENV, MaxJobsError, job_count, max_jobs
from reefline.spec.models import Job, Pipeline


def format_matrix_value(value: Any) -> str:
    """How a matrix value reads in an expansion's name and in ``${{ matrix.x }}`` (as the planner)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else format_matrix_value(value)


def check_matrix_values(name: str, job: Job, r: Reporter) -> None:
    """Every value of an axis is finite and distinct, by its formatted text and by equality."""
    for key, values in (job.matrix or {}).items():
        by_text: dict[str, int] = {}
        by_value: dict[Any, int] = {}
        for i, value in enumerate(values):
            path: FieldPath = ("jobs", name, "matrix", key, i)
            if isinstance(value, float) and not math.isfinite(value):
                r.value("RL106", f"matrix value {value} of key '{key}' is not a finite number", path)
                continue
            text = format_matrix_value(value)
            first = by_text.get(text, by_value.get(value))
            if first is not None:
                other = values[first]
                same = "is the same value as" if text != format_matrix_value(other) else "reads the same as"
                r.value(
                    "RL511",
                    f"matrix value {_shown(value)} of key '{key}' {same} {_shown(other)} (item {first + 1}); "
                    f"both would be the job {name}[{key}={text}]",
                    path,
                    "give each value once; quote numbers you mean as text, e.g. '1'",
                )
                continue
            by_text[text] = i
            by_value.setdefault(value, i)


def check_size(pipeline: Pipeline, r: Reporter) -> bool:
    """Whether the pipeline stays within the job limit; if not, an RL510 error at the matrix that
    crosses it. Computed from the axis lengths: nothing is expanded."""
    try:
        limit = max_jobs()
    except MaxJobsError as exc:
        r.value("RL510", str(exc), (), f"unset {MAX_JOBS_ENV} to use the default of 10,000")
        return False
    total = 0
    for name, job in pipeline.jobs.items():
        count = job_count(job)
        total += count
        if total <= limit:
            continue
        alone = count > limit
        what = (
            f"the matrix of job '{name}' expands to {count:,} jobs"
            if alone
            else f"the pipeline expands to more than {limit:,} jobs at job '{name}' ({count:,} from it)"
        )
        path: FieldPath = ("jobs", name, "matrix") if job.matrix else ("jobs", name)
        r.key(
            "RL510",
            f"{what}; the limit is {limit:,} jobs per pipeline",
            path,
            f"shrink the matrix, or raise the limit with {MAX_JOBS_ENV}=N",
        )
        return False
    return True
