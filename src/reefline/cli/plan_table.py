"""The ``run --dry-run`` table: one line per step, written directly (fast for 20,000 steps).

A rich ``Table`` measures every cell several times and takes ~20 s for 20,000 rows;
:mod:`reefline.cli.text_table` pads the columns instead. A long ``needs`` list is cut to its first
entries and ``+N more`` (stage order is one ``after stage X`` entry), so each step stays one line.
"""

from __future__ import annotations

import shutil
import sys
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from reefline.cli import common
from reefline.cli.text_table import Cell, Column, cell, render_table

if TYPE_CHECKING:
    from reefline.services.types import PlannedStep

NEEDS_WIDTH = 30
COLUMNS = ("#", "job", "stage", "needs", "status")


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


def render_plan(steps: Sequence[PlannedStep], out: TextIO | None = None) -> None:
    """The steps in plan order with what would happen to each, then a summary line."""
    stream = out or sys.stdout
    rows = [
        [str(i), common.visible(s.name), common.visible(s.stage), common.visible(needs_cell(s.needs))]
        for i, s in enumerate(steps, 1)
    ]
    widths = [max([len(c), *(len(r[k]) for r in rows)]) for k, c in enumerate(COLUMNS[:4])]
    used = sum(w + 2 for w in widths) + max([len(COLUMNS[4]), *(len(s.status) for s in steps)]) + 2
    room = max(20, shutil.get_terminal_size().columns - used) if stream.isatty() else None
    cells: list[list[Cell]] = []
    for step, row in zip(steps, rows, strict=True):
        first, _, rest = step.command.strip().partition("\n")
        command = common.visible(first) + (" …" if rest else "")
        if room is not None and len(command) > room:
            command = command[: room - 1] + "…"
        style = "cyan" if step.status == "cached" else ("dim" if step.status.startswith("skip") else "")
        cells.append([*(cell(text) for text in row), cell(step.status, style), cell(command)])
    columns = [*(Column(name) for name in COLUMNS), Column("command")]
    lines = render_table(columns, cells, color=common.color_enabled(stream))
    counts = Counter(s.status.split(":")[0] for s in steps)
    summary = ", ".join(f"{n} {status}" for status, n in counts.items())
    lines.append(f"\n{len(steps)} jobs: {summary} (dry run: nothing was started)")
    stream.write("\n".join(lines) + "\n")
    stream.flush()
