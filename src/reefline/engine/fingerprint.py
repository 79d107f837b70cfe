"""The code an attempt ran, as content hashes: what a trace shows beside the run's git commit.

- a ``script:`` step: ``{"script_sha256": …}``, the sha256 of the rendered script text (the lines as
  bash gets them, joined by newlines);
- a ``run:`` step: ``{"entry": "pkg.mod:fn", "modules": {"pkg/mod.py": sha256, …}}``, the workspace
  files :func:`reefline.engine.code_deps.code_files` finds (the same files the cache key covers);
- either, for a container step whose image id is known: ``"image_id"``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from reefline.artifacts.hashing import ArtifactError, Hasher
from reefline.engine.code_deps import code_files
from reefline.plan.ir import PythonCommand, Step


def module_digests(hasher: Hasher, entry: str) -> dict[str, str]:
    """The workspace files of a ``module:function`` entry and of every workspace module it imports,
    with their sha256. Raises ArtifactError for a file that cannot be read."""
    module = entry.split(":", 1)[0]
    return {path: hasher.digest(path).sha256 for path in code_files(hasher.workspace, module)}


def code_fingerprint(step: Step, hasher: Hasher, image_id: str | None = None) -> dict[str, Any]:
    """The fingerprint of the code ``step`` runs now. A module that cannot be read (removed
    meanwhile) is recorded with ``None`` instead of a hash: the fingerprint never fails a job."""
    code: dict[str, Any]
    if isinstance(step.command, PythonCommand):
        entry = step.command.entry
        modules: dict[str, str | None] = {}
        for path in code_files(hasher.workspace, entry.split(":", 1)[0]):
            try:
                modules[path] = hasher.digest(path).sha256
            except ArtifactError:
                modules[path] = None
        code = {"entry": entry, "modules": modules}
    else:
        text = "\n".join(step.command.lines)
        code = {"script_sha256": hashlib.sha256(text.encode()).hexdigest()}
    if image_id is not None:
        code["image_id"] = image_id
    return code
