"""Executors by name. A backend is one module, listed here as ``"module:Class"`` and imported on
demand: a CLI run should not pay for Docker or Celery."""

from __future__ import annotations

import importlib
from typing import Any

from reefline.executors.base import Executor

BACKENDS: dict[str, str] = {
    "local": "reefline.executors.local:LocalExecutor",
    "fake": "reefline.executors.fake:FakeExecutor",
    "docker": "reefline.executors.docker:DockerExecutor",
}
KNOWN = tuple(BACKENDS)


class UnknownExecutorError(ValueError):
    pass


def get_executor(name: str, **options: Any) -> Executor:
    """A new executor of backend ``name``; ``options`` go to its constructor."""
    target = BACKENDS.get(name)
    if target is None:
        raise UnknownExecutorError(f"unknown executor {name!r}; known executors: {', '.join(KNOWN)}")
    module_name, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    executor: Executor = cls(**options)
    return executor
