"""One call of a component: what existed before it, what changed during it, and the record of it.

Inputs: declared ``inputs=`` and path arguments that existed before the call and were not changed
by it. Outputs: declared ``outputs=`` that exist after the call, and path arguments that appeared
or whose content changed during it, plus what ``log_output`` tagged meanwhile. Nothing here raises
into the user's code: a path that cannot be hashed is left out.
"""

from __future__ import annotations

import contextvars
import os
import socket
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reefline.lineage.provenance import Provenance, git_provenance
from reefline.sdk import paths, recorder
from reefline.sdk.paths import Seen
from reefline.sdk.where import Where, current
from reefline.services.shown import short_repr
from reefline.store.component_records import ArtifactRecord, ComponentSpec, RunRecord

MAX_EXCEPTION_CHARS = 20_000
_PROVENANCE_TTL_S = 5.0  # a serving loop logging many predictions runs git at most this often
_provenance: dict[Path, tuple[float, Provenance | None]] = {}
ACTIVE: contextvars.ContextVar[Call | None] = contextvars.ContextVar("reefline_component_call", default=None)


@dataclass
class Call:
    spec: ComponentSpec
    where: Where
    started_at: float
    declared_inputs: list[Path]
    declared_outputs: list[Path]
    arguments: list[Path]
    before: dict[Path, Seen | None]
    tagged: list[ArtifactRecord] = field(default_factory=list)

    @classmethod
    def begin(
        cls,
        spec: ComponentSpec,
        arguments: Mapping[str, Any],
        inputs: Sequence[Any],
        outputs: Sequence[Any],
    ) -> Call:
        where = current()
        declared_in = _declared(inputs, arguments)
        declared_out = _declared(outputs, arguments)
        found = [p for p in paths.argument_paths(arguments) if paths.is_artifact(p, where.workspace)]
        watched = list(dict.fromkeys([*declared_in, *found]))
        before = {p: paths.digest(p, where.workspace) for p in watched}
        return cls(spec, where, time.time(), declared_in, declared_out, found, before)

    def tag(self, artifacts: list[ArtifactRecord]) -> None:
        self.tagged.extend(artifacts)

    def finish(self, error: BaseException | None) -> int | None:
        """Record the call (``error``: what it raised); the run's id, or None if it was not recorded."""
        try:
            record = self._record(error)
        except Exception as exc:  # never into the user's code
            recorder._warn(f"could not record the run of component {short_repr(self.spec.name)}: {exc}")
            return None
        return recorder.deliver(self.spec, record, self.where)

    def _record(self, error: BaseException | None) -> RunRecord:
        finished = time.time()
        workspace = self.where.workspace
        after = {
            p: paths.digest(p, workspace) for p in dict.fromkeys([*self.arguments, *self.declared_outputs])
        }
        inputs: dict[Path, Seen] = {}
        outputs: dict[Path, Seen] = {}
        for path in self.declared_outputs:
            seen = after.get(path)
            if seen is not None:
                outputs[path] = seen
        for path in [*self.declared_inputs, *self.arguments]:
            then, now = self.before.get(path), after.get(path, self.before.get(path))
            if now is not None and (then is None or then.sha256 != now.sha256):
                outputs.setdefault(path, now)
            elif then is not None and path not in outputs:
                inputs[path] = then
        artifacts = [_artifact("in", seen) for seen in inputs.values()]
        artifacts += [_artifact("out", seen) for seen in outputs.values()]
        git = provenance(workspace)
        where = self.where
        return RunRecord(
            status="success" if error is None else "failed",
            started_at=self.started_at,
            finished_at=finished,
            exception=None if error is None else exception_text(error),
            git_commit=None if git is None else git.commit,
            git_branch=None if git is None else git.branch,
            git_dirty=None if git is None else git.dirty,
            host=socket.gethostname(),
            pid=os.getpid(),
            workspace=str(workspace),
            job_id=where.job_id,
            attempt=where.attempt if where.job_id is not None else None,
            # log_output(inputs=[…]) often names a path argument again: each one once
            artifacts=tuple(
                {(a.direction, a.path, a.sha256, a.label): a for a in artifacts + self.tagged}.values()
            ),
        )


def _declared(items: Sequence[Any], arguments: Mapping[str, Any]) -> list[Path]:
    """Declared paths; a name of one of the function's parameters stands for that argument's value."""
    found: list[Path] = []
    for item in items:
        value = arguments.get(item, item) if isinstance(item, str) else item
        for one in value if isinstance(value, list | tuple) else (value,):
            path = paths.as_path(one)
            if path is not None:
                found.append(path)
    return found


def _artifact(direction: str, seen: Seen, label: str | None = None) -> ArtifactRecord:
    return ArtifactRecord(direction, seen.path, seen.kind, seen.sha256, seen.size, label)


def exception_text(error: BaseException) -> str:
    text = "".join(traceback.format_exception(error)).rstrip()
    if len(text) > MAX_EXCEPTION_CHARS:
        head = f"{type(error).__name__}: {error}"[:2000]
        text = head + "\n…\n" + text[-(MAX_EXCEPTION_CHARS - len(head) - 3) :]
    return text


def provenance(workspace: Path) -> Provenance | None:
    now = time.monotonic()
    known = _provenance.get(workspace)
    if known is not None and now - known[0] < _PROVENANCE_TTL_S:
        return known[1]
    found = git_provenance(workspace)
    _provenance[workspace] = (now, found)
    return found
