"""Which workspace Python files a ``run:`` job's code is made of: its entry module and, transitively,
every workspace module it imports.

Imports are read statically with :mod:`ast` (``import a.b``, ``from a import b``, relative imports,
imports inside functions or ``try`` blocks), so nothing is executed. A name resolves the way the
entrypoint's ``sys.path`` (the workspace first) resolves it: ``a/b.py`` or ``a/b/__init__.py``
under the workspace; importing ``a.b`` also runs ``a/__init__.py``. Anything else (the standard
library, installed packages, files outside the workspace) is not followed. A file that does not
parse is hashed as it is, without following its imports. At most :data:`MAX_FILES` files are
followed.
"""

from __future__ import annotations

import ast
import threading
from collections import deque
from pathlib import Path

MAX_FILES = 2000
MAX_FILE_BYTES = 5 * 1024 * 1024

_memo: dict[tuple[str, int, int], tuple[str, ...]] = {}
_memo_lock = threading.Lock()


def module_file(workspace: Path, module: str) -> str | None:
    """The workspace-relative file of ``module`` (``a.b`` → ``a/b.py`` or ``a/b/__init__.py``)."""
    if not module or any(not part.isidentifier() for part in module.split(".")):
        return None
    base = module.replace(".", "/")
    root = workspace.resolve()
    for candidate in (f"{base}.py", f"{base}/__init__.py"):
        path = root / candidate
        if path.is_file():
            resolved = path.resolve()
            if resolved == root or root not in resolved.parents:
                return None  # a symlink out of the workspace
            return candidate
    return None


def code_files(workspace: Path, entry_module: str, *, max_files: int = MAX_FILES) -> list[str]:
    """The workspace-relative files of ``entry_module`` and every workspace module it imports
    (transitively), sorted; empty when the entry module is not a workspace file."""
    found: dict[str, str] = {}  # file -> module name
    queue: deque[str] = deque()

    def add(module: str) -> None:
        parts = module.split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__.py and a/b/__init__.py
            name = ".".join(parts[:i])
            rel = module_file(workspace, name)
            if rel is not None and rel not in found and len(found) < max_files:
                found[rel] = name
                queue.append(rel)

    add(entry_module)
    while queue:
        rel = queue.popleft()
        for module in _imports(workspace / rel, found[rel], rel.endswith("__init__.py")):
            add(module)
    return sorted(found)


def _imports(path: Path, module: str, is_package: bool) -> tuple[str, ...]:
    """The absolute module names the file imports (maybe not all of them workspace modules)."""
    try:
        st = path.stat()
    except OSError:
        return ()
    key = (str(path), st.st_mtime_ns, st.st_size)
    with _memo_lock:
        known = _memo.get(key)
    if known is not None:
        return known
    names = _parse_imports(path, module, is_package) if st.st_size <= MAX_FILE_BYTES else ()
    with _memo_lock:
        _memo[key] = names
    return names


def _parse_imports(path: Path, module: str, is_package: bool) -> tuple[str, ...]:
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError, OSError, RecursionError, MemoryError):
        return ()  # hashed as it is; its imports are not followed
    package = module if is_package else module.rpartition(".")[0]
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(package, node.module, node.level)
            if base is None:
                continue
            if base:
                names.append(base)
            # `from pkg import mod` imports the submodule pkg.mod when there is one
            names.extend(f"{base}.{a.name}" if base else a.name for a in node.names if a.name != "*")
    return tuple(dict.fromkeys(names))


def _absolute(package: str, module: str | None, level: int) -> str | None:
    """``from ..x import y`` inside ``package`` → the absolute name of ``..x``; None if it climbs
    above the top-level package."""
    if level == 0:
        return module or None
    parts = package.split(".") if package else []
    if level - 1 > len(parts) or (level - 1 == len(parts) and not module):
        return None
    base = parts[: len(parts) - (level - 1)]
    if module:
        base.append(module)
    return ".".join(base)
