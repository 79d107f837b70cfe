"""The ``run --dry-run`` table: one line per step, written directly (fast for 20,000 steps).

A rich ``Table`` measures every cell several times and takes ~20 s for 20,000 rows; the columns
here are padded by hand. A long ``needs`` list is cut to its first entries and ``+N more`` (stage
order is one ``after stage X`` entry), so each step stays one line.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from reefline.cli import common

if TYPE_CHECKING:
    from reefline.services.types import PlannedStep

NEEDS_WIDTH = 30
COLUMNS = ("#", "job", "stage", "needs", "status")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_CYAN, _DIM, _BOLD, _RESET = "\x1b[36m", "\x1b[2m", "\x1b[1m", "\x1b[0m"


def needs_cell(needs: Sequence[str], width: int = NEEDS_WIDTH) -> str:
    """``a, b`` or, past ``width``, ``a, b, +3 more``; ``-`` for none."""
    if not needs:
        return "-"
    text = ", ".join(needs)
    if len(text) <= width:
        return text
    shown: list[str] = []
    for i, need in enumerate(needs):
        more = f"+{len(needs) - i} more"
        if len(", ".join([*shown, need, more])) > width and (shown or i):
            return ", ".join([*shown, more])
        shown.append(need)
    return ", ".join(shown)


def _clean(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def render_plan(steps: Sequence[PlannedStep], out: TextIO | None = None) -> None:
    """The steps in plan order with what would happen to each, then a summary line."""
    stream = out or sys.stdout
    color = common.color_enabled(stream)
    rows = [
        (str(i), _clean(s.name), _clean(s.stage), _clean(needs_cell(s.needs)), s.status)
        for i, s in enumerate(steps, 1)
    ]
    widths = [max([len(c), *(len(r[k]) for r in rows)]) for k, c in enumerate(COLUMNS)]
    used = sum(w + 2 for w in widths)
    room = max(20, shutil.get_terminal_size().columns - used) if stream.isatty() else None

    def line(cells: Sequence[str], command: str, status_style: str = "") -> str:
        padded = [cell.ljust(w) for cell, w in zip(cells, widths, strict=True)]
        if status_style and color:
            padded[4] = status_style + padded[4] + _RESET
        return "  ".join([*padded, command]).rstrip()

    header = line(COLUMNS, "command")
    lines = [f"{_BOLD}{header}{_RESET}" if color else header]
    for step, row in zip(steps, rows, strict=True):
        first, _, rest = _clean(step.command.strip()).partition("\n")
        command = first + (" …" if rest else "")
        if room is not None and len(command) > room:
            command = command[: room - 1] + "…"
        style = _CYAN if step.status == "cached" else (_DIM if step.status.startswith("skip") else "")
        lines.append(line(row, command, style))
    counts = Counter(s.status.split(":")[0] for s in steps)
    summary = ", ".join(f"{n} {status}" for status, n in counts.items())
    lines.append(f"\n{len(steps)} jobs: {summary} (dry run: nothing was started)")
    stream.write("\n".join(lines) + "\n")
    stream.flush()
