"""Executors by name. Backends are imported on demand: a CLI run should not pay for Docker or Celery."""

from __future__ import annotations

from typing import Any

from reefline.executors.base import Executor

KNOWN = ("local", "fake")


def get_executor(name: str, **options: Any) -> Executor:
    """A new executor of backend ``name``; ``options`` go to its constructor."""
    if name == "local":
        from reefline.executors.local import LocalExecutor

        return LocalExecutor(**options)
    if name == "fake":
        from reefline.executors.fake import FakeExecutor

        return FakeExecutor(**options)
    raise ValueError(f"unknown executor {name!r}; known executors: {', '.join(KNOWN)}")
