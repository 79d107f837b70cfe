"""``reefline.log_output``: tag one output (a prediction) with an id that ``reefline trace`` finds."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Sequence
from typing import Any

from reefline.sdk import paths, recorder
from reefline.sdk.call import ACTIVE, provenance
from reefline.sdk.where import current
from reefline.services.shown import short_repr
from reefline.store.component_records import ArtifactRecord, ComponentSpec, RunRecord

# The component of outputs logged outside any decorated function.
LOG_OUTPUT = ComponentSpec("log_output", kind="output", description="outputs tagged with reefline.log_output")
MAX_ID_CHARS = 200


def log_output(output_id: str, inputs: Sequence[Any] = (), value: Any = None) -> None:
    """Tag an output with ``output_id`` (e.g. ``"prediction-8812"``), made from ``inputs`` (paths);
    ``value``: the path of the output itself, if it is a file or directory.

    Inside a decorated function it belongs to that call's run; elsewhere it is recorded as a run of
    the component ``log_output``. Never raises: a bad id or a failure to record is a warning.
    """
    try:
        _log(output_id, inputs, value)
    except Exception as exc:  # a serving function must not fail over its lineage
        recorder._warn(f"could not log output {short_repr(output_id)}: {type(exc).__name__}: {exc}")


def _log(output_id: str, inputs: Sequence[Any], value: Any) -> None:
    if not isinstance(output_id, str) or not output_id.strip() or len(output_id) > MAX_ID_CHARS:
        raise ValueError(f"an output id is a non-empty string of at most {MAX_ID_CHARS} characters")
    if not output_id.isprintable():
        raise ValueError("an output id holds printable characters only (no control bytes or lone surrogates)")
    where = current()
    artifacts: list[ArtifactRecord] = []
    for item in [inputs] if isinstance(inputs, str) else inputs:
        path = paths.as_path(item)
        seen = None if path is None else paths.digest(path, where.workspace)
        if seen is None:
            recorder._warn(f"log_output {output_id!r}: input {item!r} is not a readable file or directory")
            continue
        artifacts.append(ArtifactRecord("in", seen.path, seen.kind, seen.sha256, seen.size))
    tagged = ArtifactRecord("out", None, "label", None, None, output_id)
    if value is not None:
        path = paths.as_path(value)
        seen = None if path is None else paths.digest(path, where.workspace)
        if seen is None:
            recorder._warn(
                f"log_output {output_id!r}: value {value!r} is not a file or directory: logged the id only"
            )
        else:
            tagged = ArtifactRecord("out", seen.path, seen.kind, seen.sha256, seen.size, output_id)
    artifacts.append(tagged)
    call = ACTIVE.get()
    if call is not None:
        call.tag(artifacts)
        return
    now = time.time()
    git = provenance(where.workspace)
    record = RunRecord(
        status="success",
        started_at=now,
        finished_at=now,
        git_commit=None if git is None else git.commit,
        git_branch=None if git is None else git.branch,
        git_dirty=None if git is None else git.dirty,
        host=socket.gethostname(),
        pid=os.getpid(),
        workspace=str(where.workspace),
        job_id=where.job_id,
        attempt=where.attempt if where.job_id is not None else None,
        artifacts=tuple(artifacts),
    )
    recorder.deliver(LOG_OUTPUT, record, where)
