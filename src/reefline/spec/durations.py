"""Durations as users write them: ``90``, ``90s``, ``10m``, ``1h30m``, ``1.5h``, ``500ms``."""

from __future__ import annotations

import math
import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h|d)")
_EXAMPLES = "e.g. 90, 90s, 10m, 1h30m, 1.5h or 500ms"


def parse_duration(value: str | int | float) -> float:
    """Seconds in ``value``. Raises ``ValueError`` with a message fit for a user."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration ({_EXAMPLES}), got {str(value).lower()}")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"a duration must be a non-negative number of seconds, got {value}")
        return float(value)
    text = value.strip().lower()
    if not text:
        raise ValueError(f"empty duration; write one such as {_EXAMPLES[5:]}")
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"a duration must be a non-negative number of seconds, got {value!r}")
        return seconds
    pos, total = 0, 0.0
    for m in _PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text) or pos == 0:
        raise ValueError(f"invalid duration {value!r}; write one such as {_EXAMPLES[5:]}")
    return total
