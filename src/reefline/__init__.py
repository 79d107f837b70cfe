"""Reefline: typed, cached ML and CI pipelines from one YAML file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

if TYPE_CHECKING:
    from reefline.client import ApiError, Client
    from reefline.sdk import component, log_output

__all__ = ["ApiError", "Client", "__version__", "component", "log_output"]


def __getattr__(name: str) -> Any:
    # `reefline.Client` without importing httpx for every command.
    if name in {"Client", "ApiError"}:
        from reefline import client

        return getattr(client, name)
    if name in {"component", "log_output"}:  # the SDK: SQLAlchemy only once a run is recorded
        from reefline import sdk

        return getattr(sdk, name)
    raise AttributeError(f"module 'reefline' has no attribute {name!r}")
