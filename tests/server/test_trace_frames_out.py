"""The API's trace frames carry what ``reefline trace --json`` shows of a component run (its kind,
id, job, status and exception, and which component run made an input), SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Engine

from reefline.lineage.frames import Frame, Link, Trace
from reefline.server.routes.experiments import _visible
from reefline.services.permissions import Principal


def test_a_component_frame_keeps_its_component_fields(store_engine: Engine) -> None:
    component = Frame(
        number=1,
        job_id=7,
        job="featurize",
        run_id=3,
        pipeline="demo",
        at=100.0,
        commit=None,
        branch=None,
        dirty=None,
        author="alice",
        params={},
        kind="component",
        component_run_id=12,
        in_job="prepare",
        status="failed",
        exception="ValueError: bad row",
    )
    job = Frame(
        number=0,
        job_id=8,
        job="train",
        run_id=3,
        pipeline="demo",
        at=101.0,
        commit="abc",
        branch="main",
        dirty=False,
        author="alice",
        params={"lr": 0.1},
        inputs=[Link("rows", "rows.csv", "file", "ab" * 32, 4, frame=1, producer_component_run=12)],
    )
    admin = Principal(user_id=1, username="root", is_admin=True, roles={})
    with store_engine.connect() as conn:
        out = _visible(conn, admin, Trace("train.model", "cd" * 32, "back", [job, component]))
    by_number = {f.number: f for f in out.frames}
    assert by_number[0].kind == "job" and by_number[0].inputs[0].producer_component_run == 12
    shown = by_number[1]
    assert (shown.kind, shown.component_run_id, shown.in_job, shown.status, shown.exception) == (
        "component",
        12,
        "prepare",
        "failed",
        "ValueError: bad row",
    )
