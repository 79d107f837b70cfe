"""How many jobs a pipeline expands to, computed from the matrix axes without expanding anything.

The language has no matrix ``include``/``exclude``, so a job expands to the product of its axis
lengths (1 without a matrix). The linter reports a pipeline past :func:`max_jobs` (RL510) before
the planner expands anything.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reefline.spec.models import Job, Pipeline

DEFAULT_MAX_JOBS = 10_000
MAX_JOBS_ENV = "REEFLINE_MAX_JOBS"


class MaxJobsError(ValueError):
    """``REEFLINE_MAX_JOBS`` is not a positive integer; the message is meant for the user."""


def max_jobs(environ: Mapping[str, str] | None = None) -> int:
    """The job limit per pipeline: ``REEFLINE_MAX_JOBS`` or 10,000. Raises :class:`MaxJobsError`."""
    raw = (os.environ if environ is None else environ).get(MAX_JOBS_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_JOBS
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise MaxJobsError(f"{MAX_JOBS_ENV} must be a positive integer, got {raw!r}")
    return value


def expansion_count(matrix: Mapping[str, Sequence[Any]] | None) -> int:
    """Jobs one job definition expands to: the product of its axis lengths (1 without a matrix)."""
    if not matrix:
        return 1
    return math.prod(len(values) for values in matrix.values())


def job_count(job: Job) -> int:
    return expansion_count(job.matrix)


def expanded_job_count(pipeline: Pipeline) -> int:
    """Jobs the pipeline expands to, matrix expansions counted one by one; never expands anything."""
    return sum(job_count(job) for job in pipeline.jobs.values())
