"""Sizes as users write them: ``1048576``, ``512Mi``, ``2Gi``, ``500M``, ``64k``."""

from __future__ import annotations

import re

_UNITS = {
    "": 1,
    "k": 1000,
    "m": 1000**2,
    "g": 1000**3,
    "t": 1000**4,
    "ki": 1024,
    "mi": 1024**2,
    "gi": 1024**3,
    "ti": 1024**4,
}
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgt]i?)?b?$")
_EXAMPLES = "512Mi, 2Gi, 500M or a number of bytes"
MIN_MEMORY = 6 * 1024**2
"""Docker refuses a memory limit below 6 MiB; so do we, at the line that sets it."""


def parse_memory(value: str | int) -> int:
    """Bytes in ``value``. Raises ``ValueError`` with a message fit for a user."""
    if isinstance(value, bool):
        raise ValueError(f"expected a size ({_EXAMPLES}), got {str(value).lower()}")
    if isinstance(value, int):
        size = value
    else:
        match = _SIZE.match(value.strip().lower())
        if match is None:
            raise ValueError(f"invalid size {value!r}; write one such as {_EXAMPLES}")
        size = int(float(match.group(1)) * _UNITS[match.group(2) or ""])
    if size < MIN_MEMORY:
        raise ValueError(f"a memory limit must be at least 6Mi, got {value!r}")
    return size
