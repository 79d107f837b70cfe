"""Size and depth limits of a YAML document, checked on the event stream BEFORE composing.

PyYAML's C composer recurses once per nesting level, so 25,000 nested ``[`` overflow the C stack
(a segfault, not an exception). libyaml's parser is not recursive: this module walks its events with
a depth counter and stops at the first event past the limit, so the composer never sees a document
it cannot build. It also computes how large the document gets once aliases are expanded (each
anchor's size and height are recorded when it closes), so an alias bomb ("billion laughs") is
reported at the alias that crosses the limit, instead of being walked for ever.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from reefline.spec.diagnostics import Diagnostic

MAX_DEPTH = 200
MAX_NODES = 500_000
MAX_BYTES = 20 * 1024 * 1024

_HINT_DEPTH = "a pipeline needs a few levels of nesting; is a bracket or an indentation runaway?"
_HINT_ALIAS = "an alias repeats its anchor's whole value; is an alias expanding itself many times?"


@dataclass(slots=True)
class _Frame:
    anchor: str | None
    start_total: int
    height: int = 1


def _at(file: str, mark: Any, message: str, hint: str) -> Diagnostic:
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return Diagnostic("RL108", message, file, line, col, hint=hint)


def check_limits(text: str, loader: type[Any], file: str) -> Diagnostic | None:
    """An RL108 diagnostic at the first place ``text`` crosses a limit, or None.

    A YAML syntax error ends the scan quietly: composing reports it with its position."""
    if len(text) > MAX_BYTES:
        mib = MAX_BYTES // (1024 * 1024)
        return Diagnostic("RL108", f"the file is larger than {mib} MiB", file, 1, 1)
    stack: list[_Frame] = []
    sizes: dict[str, int] = {}
    heights: dict[str, int] = {}
    total = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.ScalarEvent):
                total += 1
                if event.anchor:
                    sizes[event.anchor], heights[event.anchor] = 1, 0
            elif isinstance(event, yaml.CollectionStartEvent):
                stack.append(_Frame(event.anchor, total))
                total += 1
                if len(stack) > MAX_DEPTH:
                    return _at(
                        file,
                        event.start_mark,
                        f"the document is nested more than {MAX_DEPTH} levels deep",
                        _HINT_DEPTH,
                    )
            elif isinstance(event, yaml.CollectionEndEvent) and stack:
                frame = stack.pop()
                if frame.anchor:
                    sizes[frame.anchor] = total - frame.start_total
                    heights[frame.anchor] = frame.height
                if stack:
                    stack[-1].height = max(stack[-1].height, 1 + frame.height)
                continue
            elif isinstance(event, yaml.AliasEvent):
                name = event.anchor or ""
                total += sizes.get(name, 1)
                height = heights.get(name, 0)
                if stack:
                    stack[-1].height = max(stack[-1].height, 1 + height)
                if len(stack) + height > MAX_DEPTH:
                    return _at(
                        file,
                        event.start_mark,
                        f"alias '*{name}' nests the document more than {MAX_DEPTH} levels deep",
                        _HINT_ALIAS,
                    )
                if total > MAX_NODES:
                    return _at(
                        file,
                        event.start_mark,
                        f"alias '*{name}' expands the document to more than {MAX_NODES:,} values",
                        _HINT_ALIAS,
                    )
                continue
            else:
                continue
            if total > MAX_NODES:
                return _at(
                    file, event.start_mark, f"the document has more than {MAX_NODES:,} values", _HINT_ALIAS
                )
    except (yaml.YAMLError, ValueError, UnicodeError, RecursionError):
        return None
    return None
