"""The store's data-access functions in one namespace: ``from reefline.store import repo``.

All take an open ``sqlalchemy.Connection`` first and never commit; callers own the transaction
(``with engine.begin() as conn``). They live in one module per concept; this one re-exports them.
"""

from __future__ import annotations

from reefline.store.repo_artifacts import (
    find_cache_hit,
    insert_inputs,
    insert_metrics,
    insert_outputs,
    list_inputs,
    list_job_outputs,
    list_metrics,
    list_outputs,
)
from reefline.store.repo_jobs import (
    create_attempt,
    create_attempts,
    create_jobs,
    get_job,
    get_job_by_name,
    list_attempts,
    list_jobs,
    update_attempt,
    update_attempts,
    update_job,
    update_jobs,
)
from reefline.store.repo_logs import insert_log_lines, read_logs
from reefline.store.repo_runs import (
    create_run,
    find_active_runs,
    find_interrupted_runs,
    get_or_create_pipeline,
    get_run,
    get_run_state,
    heartbeat,
    is_cancel_requested,
    list_runs,
    request_cancel,
    resolve_run_ref,
    update_run,
    update_run_if,
)
from reefline.store.repo_states import insert_state_changes, list_state_changes, state_change

__all__ = [
    "create_attempt",
    "create_attempts",
    "create_jobs",
    "create_run",
    "find_active_runs",
    "find_cache_hit",
    "find_interrupted_runs",
    "get_job",
    "get_job_by_name",
    "get_or_create_pipeline",
    "get_run",
    "get_run_state",
    "heartbeat",
    "insert_inputs",
    "insert_log_lines",
    "insert_metrics",
    "insert_outputs",
    "insert_state_changes",
    "is_cancel_requested",
    "list_attempts",
    "list_inputs",
    "list_job_outputs",
    "list_jobs",
    "list_metrics",
    "list_outputs",
    "list_runs",
    "list_state_changes",
    "read_logs",
    "request_cancel",
    "resolve_run_ref",
    "state_change",
    "update_attempt",
    "update_attempts",
    "update_job",
    "update_jobs",
    "update_run",
    "update_run_if",
]
