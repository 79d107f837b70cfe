"""The `run --dry-run` table: one line per step whatever the plan's size."""

from __future__ import annotations

import io

from reefline.cli.plan_table import needs_cell, render_plan
from reefline.services.types import PlannedStep


def test_a_long_needs_list_is_cut_with_a_count() -> None:
    assert needs_cell([]) == "-"
    assert needs_cell(["a", "b"]) == "a, b"
    assert needs_cell(["after stage build"]) == "after stage build"
    many = [f"train[i={i}]" for i in range(2500)]
    cell = needs_cell(many)
    assert cell == "train[i=0], +2499 more"
    assert len(cell) <= 30


def test_every_step_is_one_line_and_the_columns_line_up() -> None:
    steps = [
        PlannedStep(
            f"b[i={i}]", "two", (*(f"a[i={k}]" for k in range(100)), "after stage one"), "x\ny", "would run"
        )
        for i in range(1000)
    ]
    steps.append(PlannedStep("c", "two", (), "echo \x1b[31mred", "cached"))
    out = io.StringIO()
    render_plan(steps, out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 + 1001 + 2  # header, one per step, blank, summary
    assert lines[0].split() == ["#", "job", "stage", "needs", "status", "command"]
    assert lines[1].split()[:4] == ["1", "b[i=0]", "two", "a[i=0],"]
    assert "a[i=0], a[i=1], +99 more" in lines[1] and lines[1].endswith("x …")
    assert lines[-1] == "1001 jobs: 1000 would run, 1 cached (dry run: nothing was started)"
    assert "\x1b" not in out.getvalue() and "echo \\x1b[31mred" in lines[-3]
    status_column = lines[0].index("status")
    assert all(line[status_column:].startswith(("would run", "cached")) for line in lines[1:-2])
