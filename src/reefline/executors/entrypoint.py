"""Runs a Python step: ``python -m reefline.executors.entrypoint module:function``.

The child-process side of :class:`~reefline.plan.ir.PythonCommand`:

- the working directory is the workspace; it goes first on ``sys.path`` so its modules import;
- env ``REEFLINE_CONTEXT`` (made by the plan compiler), or the file named by env
  ``REEFLINE_CONTEXT_FILE`` (the local executor's choice for a context too big for the
  environment), holds JSON ``{"inputs": {name: path | [path, ...]},
  "outputs": {name: path}, "params": {name: value}, "matrix": {key: value}}`` (workspace-relative paths);
- the function is called with those of ``inputs``, ``outputs``, ``params``, ``matrix`` its signature
  accepts as keyword arguments (all of them if it takes ``**kwargs``); its return value is ignored;
- exit codes: 0 done; 1 the function or its module raised (traceback on stderr); 2 the entry or the
  context is bad (one line on stderr); a ``SystemExit`` from the function keeps its own code.

This runs at the start of every Python job, so it imports only what it needs, and late.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs ~4 ms per job
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

EXIT_FAILED = 1
EXIT_BAD_ENTRY = 2
CONTEXT_ENV = "REEFLINE_CONTEXT"
CONTEXT_FILE_ENV = "REEFLINE_CONTEXT_FILE"
ARGUMENTS = ("inputs", "outputs", "params", "matrix")
_CO_VARKEYWORDS = 0x08
_FunctionType = type(lambda: None)


class BadEntryError(Exception):
    """The entry cannot be resolved to a callable, or the context is unreadable."""


def resolve(entry: str) -> Callable[..., Any]:
    """``"package.module:function"`` (or ``module:Class.method``) → the callable."""
    module_name, sep, attr = entry.partition(":")
    if not sep or not module_name or not attr:
        raise BadEntryError(f"invalid entry {entry!r}: expected 'module:function'")
    import importlib

    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        # Only the entry's own module (or a parent package) missing is a bad entry; a missing
        # import *inside* the module is the module's failure and gets a traceback.
        if e.name is not None and (module_name == e.name or module_name.startswith(e.name + ".")):
            raise BadEntryError(
                f"entry {entry!r}: no module named {e.name!r} (looked in the workspace {os.getcwd()} first)"
            ) from None
        raise
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            msg = f"entry {entry!r}: module {module_name!r} has no attribute {attr!r}"
            raise BadEntryError(msg) from None
    if not callable(obj):
        raise BadEntryError(f"entry {entry!r}: {attr!r} is a {type(obj).__name__}, not a function")
    return obj  # type: ignore[no-any-return]


def accepted_arguments(fn: Callable[..., Any]) -> frozenset[str]:
    """Which of :data:`ARGUMENTS` ``fn`` takes as keywords."""
    if type(fn) is _FunctionType and not hasattr(fn, "__wrapped__"):
        # Plain function: read the code object and skip importing inspect (~10 ms).
        code = fn.__code__
        if code.co_flags & _CO_VARKEYWORDS:
            return frozenset(ARGUMENTS)
        names = code.co_varnames[code.co_posonlyargcount : code.co_argcount + code.co_kwonlyargcount]
        return frozenset(ARGUMENTS).intersection(names)
    import inspect

    params = inspect.signature(fn).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return frozenset(ARGUMENTS)
    keywords = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return frozenset(p.name for p in params if p.kind in keywords and p.name in ARGUMENTS)


def read_context() -> dict[str, Any]:
    source = CONTEXT_ENV
    raw = os.environ.get(CONTEXT_ENV)
    path = os.environ.get(CONTEXT_FILE_ENV)
    if path:
        source = f"{CONTEXT_FILE_ENV} ({path})"
        try:
            with open(path, encoding="utf-8") as f:
                raw = f.read()
        except OSError as e:
            raise BadEntryError(f"{source} cannot be read: {e.strerror}") from None
    if not raw:
        return {}
    import json

    try:
        context = json.loads(raw)
    except ValueError as e:
        raise BadEntryError(f"{source} is not valid JSON: {e}") from None
    if not isinstance(context, dict):
        raise BadEntryError(f"{source} must be a JSON object, not {type(context).__name__}")
    return context


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m reefline.executors.entrypoint module:function", file=sys.stderr)
        return EXIT_BAD_ENTRY
    workspace = os.getcwd()
    if not sys.path or sys.path[0] not in (workspace, ""):
        sys.path.insert(0, workspace)
    try:
        fn = resolve(argv[0])
        context = read_context()
        kwargs = {name: context.get(name) or {} for name in accepted_arguments(fn)}
    except BadEntryError as e:
        print(f"reefline: {e}", file=sys.stderr)
        return EXIT_BAD_ENTRY
    except Exception:
        return _traceback()
    try:
        fn(**kwargs)
    except Exception:
        return _traceback()
    return 0


def _traceback() -> int:
    import traceback

    traceback.print_exc()
    return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
