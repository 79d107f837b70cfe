"""Checks of the container keys: executor, image, services, readiness, resources."""

from __future__ import annotations

import re

from reefline.spec.diagnostics import FieldPath
from reefline.spec.durations import parse_duration
from reefline.spec.lint_report import Reporter
from reefline.spec.models import Image, Job, Pipeline, Resources, Service, job_executor, job_image
from reefline.spec.quantities import parse_memory

_EXECUTOR_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
_SERVICE_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_IMAGE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$")


def check_containers(pipeline: Pipeline, r: Reporter) -> None:
    defaults = pipeline.defaults
    _executor_name(defaults.executor, ("defaults", "executor"), r)
    _image(defaults.image, ("defaults", "image"), r)
    _resources(defaults.resources, ("defaults", "resources"), r)
    for name, job in pipeline.jobs.items():
        base: FieldPath = ("jobs", name)
        _executor_name(job.executor, (*base, "executor"), r)
        _image(job.image, (*base, "image"), r)
        _resources(job.resources, (*base, "resources"), r)
        executor = job_executor(pipeline, job)
        if executor == "docker" and job_image(pipeline, job) is None:
            r.key(
                "RL105",
                f"job '{name}' runs with the docker executor but has no image",
                (*base, "executor") if job.executor else base,
                "add `image:` to the job or to `defaults`",
            )
        if job.services:
            _services(name, job, executor, r)


def _executor_name(value: str | None, path: FieldPath, r: Reporter) -> None:
    if value is not None and not _EXECUTOR_NAME.match(value):
        r.value("RL106", f"invalid executor name {value!r}", path, "e.g. `local` or `docker`")


def _image(value: str | Image | None, path: FieldPath, r: Reporter) -> None:
    if value is None:
        return
    name, at = (value, path) if isinstance(value, str) else (value.name, (*path, "name"))
    if not _IMAGE_NAME.match(name):
        hint = "e.g. `python:3.11-slim` or `registry.example/team/app:1`"
        r.value("RL106", f"invalid image name {name!r}", at, hint)


def _resources(value: Resources | None, path: FieldPath, r: Reporter) -> None:
    if value is None or value.memory is None:
        return
    try:
        parse_memory(value.memory)
    except ValueError as exc:
        r.value("RL106", f"invalid memory limit: {exc}", (*path, "memory"))


def _services(name: str, job: Job, executor: str, r: Reporter) -> None:
    base: FieldPath = ("jobs", name, "services")
    if executor == "local":
        r.key(
            "RL106",
            f"job '{name}' has services but runs with the local executor",
            base,
            "services are containers: give the job an `image:` (or `executor: docker`)",
        )
    for service_name, service in (job.services or {}).items():
        at: FieldPath = (*base, service_name)
        if not _SERVICE_NAME.match(service_name):
            r.key(
                "RL106",
                f"invalid service name {service_name!r}: it is the service's host name",
                at,
                "use lowercase letters, digits and '-', e.g. `postgres`",
            )
        _image(service.image, (*at, "image"), r)
        _readiness(service, at, r)


def _readiness(service: Service, at: FieldPath, r: Reporter) -> None:
    ready = service.ready
    if ready is None:
        return
    if (ready.port is None) == (ready.command is None):
        r.key(
            "RL106",
            "`ready` needs exactly one of `port` and `command`",
            (*at, "ready"),
            "e.g. `ready: {port: 5432}` or `ready: {command: pg_isready}`",
        )
    try:
        parse_duration(ready.timeout)
    except ValueError as exc:
        r.value("RL502", f"invalid readiness timeout: {exc}", (*at, "ready", "timeout"))
