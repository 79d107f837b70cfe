"""Compiled plans and validation reports kept between commands, so that `reefline run` and
`reefline validate` of an unchanged spec skip the language.

Loading a spec (YAML, the pydantic models, the linter) and compiling it is about a quarter of a
short `reefline run`. The result is a pure function of what goes into the key below: the spec text,
the param overrides, ``--only``/``--from``, the allow-list, the job limit from the environment, and
Reefline's own language and planner code (the size and mtime of every module of ``reefline.spec``
and ``reefline.plan`` and of the compile services, plus the version of Reefline and of Python). So
a hit is the plan a fresh compile would give; anything that changes one of them is a miss. The
spec's path is not in the key: it only appears in diagnostics, and failed compiles are not kept.

Only successful compiles are kept (an invalid spec is compiled again and reports every diagnostic).
A validation report (:func:`validation_key`) depends on the same things and on the file name that
its diagnostics show; likewise only a report without errors is kept.
Entries are pickles in ``$REEFLINE_CACHE_DIR/plans`` (default ``$XDG_CACHE_HOME/reefline`` or
``~/.cache/reefline``), a folder only its owner can open, at most :data:`MAX_ENTRIES` of them. Any
problem reading or writing the cache (a read-only home, a truncated file, a pickle of another
layout) is a miss, never an error. ``REEFLINE_PLAN_CACHE=off`` turns it off.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from reefline.plan.ir import Plan
    from reefline.services.types import RunOptions
    from reefline.spec.policy import Policy

CACHE_DIR_ENV = "REEFLINE_CACHE_DIR"
SWITCH_ENV = "REEFLINE_PLAN_CACHE"
MAX_ENTRIES = 256
_FORMAT = 1  # bump when CachedPlan or ValidationReport changes shape
T = TypeVar("T")


@dataclass(frozen=True)
class CachedPlan:
    pipeline_name: str
    plan: Plan
    params: dict[str, Any]


def enabled(environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get(SWITCH_ENV, "").strip().lower() not in ("off", "0", "false", "no")


def cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    explicit = environ.get(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit) / "plans"
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reefline" / "plans"


def key(
    text: str,
    options: RunOptions,
    resolved_params: Mapping[str, Any] | None,
    policy: Policy | None,
) -> str:
    """Everything a compile depends on, hashed."""
    return _digest(
        "plan",
        f"params {sorted(options.params.items())!r}",
        f"resolved {None if resolved_params is None else sorted(resolved_params.items())!r}",
        f"only {options.only!r}",
        f"from {options.from_job!r}",
        f"policy {policy!r}",
        text=text,
    )


def validation_key(text: str, file: str, policy: Policy | None) -> str:
    """Everything `reefline validate` of ``text`` shown as ``file`` depends on, hashed."""
    return _digest("validation", f"file {file!r}", f"policy {policy!r}", text=text)


def _digest(kind: str, *parts: str, text: str) -> str:
    from reefline import __version__
    from reefline.spec.matrix_size import MAX_JOBS_ENV

    lines = [
        f"format {_FORMAT} {kind}",
        f"reefline {__version__}",
        f"python {sys.version}",
        *_code_stamps(),
        *parts,
        f"max_jobs {os.environ.get(MAX_JOBS_ENV)!r}",
        "text",
        text,
    ]
    return hashlib.sha256("\n".join(lines).encode("utf-8", "surrogatepass")).hexdigest()


_COMPILE_SERVICES = ("compile.py", "plan_cache.py", "plan_check.py", "policy_check.py", "validation.py")


def _code_stamps() -> list[str]:
    root = Path(__file__).resolve().parents[1]
    files = [*sorted((root / "spec").glob("*.py")), *sorted((root / "plan").glob("*.py"))]
    files += [root / "services" / name for name in _COMPILE_SERVICES]
    stamps = []
    for path in files:
        stat = path.stat()
        stamps.append(f"{path.relative_to(root)} {stat.st_size} {stat.st_mtime_ns}")
    return stamps


def load(entry_key: str, kind: type[T]) -> T | None:
    if not enabled():
        return None
    folder = cache_dir()
    try:
        if folder.stat().st_uid != os.getuid():
            return None  # never load what someone else could have written
        with (folder / f"{entry_key}.pickle").open("rb") as f:
            value = pickle.load(f)  # the owner's own cache folder, mode 0700
    except Exception:  # a missing, truncated or foreign entry is a miss
        return None
    return value if isinstance(value, kind) else None


def store(entry_key: str, value: object) -> None:
    if not enabled():
        return
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if folder.stat().st_uid != os.getuid():
            return  # not ours: never load what someone else could have written
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, folder / f"{entry_key}.pickle")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _trim(folder)
    except Exception:  # a read-only or full disk: compiling again next time is the whole cost
        return


def _trim(folder: Path) -> None:
    entries = list(folder.glob("*.pickle"))
    if len(entries) <= MAX_ENTRIES:
        return
    entries.sort(key=lambda p: p.stat().st_mtime)
    for path in entries[: len(entries) - MAX_ENTRIES]:
        path.unlink(missing_ok=True)
