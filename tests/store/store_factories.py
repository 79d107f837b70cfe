"""Factories for store tests: small valid rows with overridable fields (imported as ``store_factories``)."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import Connection

from reefline.store import repo


class RunFactory(Protocol):
    def __call__(self, conn: Connection, /, *, pipeline: str = ..., **overrides: Any) -> int: ...


def new_run(conn: Connection, /, *, pipeline: str = "demo", **overrides: Any) -> int:
    now = overrides.pop("now", 1000.0)
    pipeline_id = repo.get_or_create_pipeline(conn, pipeline, f"/src/{pipeline}/reefline.yml", now)
    values: dict[str, Any] = {
        "pipeline_id": pipeline_id,
        "spec_text": "jobs: {}\n",
        "spec_path": f"/src/{pipeline}/reefline.yml",
        "spec_hash": "0" * 64,
        "params": {"lr": 0.1},
        "workspace": f"/src/{pipeline}",
        "options": {"no_cache": False},
        "trigger": "cli",
        "owner_host": "laptop",
        "owner_pid": 4242,
        "now": now,
    }
    values.update(overrides)
    return repo.create_run(conn, **values)


def job_rows(count: int, *, prefix: str = "job", state: str = "pending") -> list[dict[str, Any]]:
    """``count`` job dicts as the engine passes them to create_jobs."""
    return [
        {
            "name": f"{prefix}{i}",
            "job": prefix,
            "stage": "test",
            "position": i,
            "matrix": {"i": i},
            "needs": [f"{prefix}{i - 1}"] if i else [],
            "state": state,
            "allow_failure": i % 7 == 0,
        }
        for i in range(count)
    ]
