"""Reproduce a run on the server, and how its outputs compare with the original's."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from reefline.server.deps import Access, Transaction, access, after_commit
from reefline.server.models import ReproductionOut, ReproductionOutputOut
from reefline.server.routing import SecureRouter
from reefline.services import reproduction, team_policy
from reefline.services.permissions import Permission
from reefline.services.shapes import RunShape
from reefline.store import repo

router = SecureRouter(tags=["runs"])
Caller = Annotated[Access, Depends(access)]
RUN = "/runs/{run_id}"


@router.post(RUN + "/reproduce", permission=Permission.PIPELINE_RUN, response_model=RunShape, status_code=202)
def reproduce(run_id: int, request: Request, conn: Transaction, caller: Caller) -> RunShape:
    """Queue a new run of the same pipeline revision with the run's params and job selection and
    nothing cached; ``GET /runs/{new id}/reproduction`` then compares its outputs with this run's."""
    policy = team_policy.policy_for_team(conn, caller.team)
    new_id = reproduction.start(
        conn, run_id, triggered_by=caller.user.user_id, actor=caller.actor, policy=policy
    )
    host = getattr(request.app.state, "host", None)
    if host is not None:
        after_commit(request, host.wake)
    return RunShape.of(repo.get_run(conn, new_id))


@router.get(RUN + "/reproduction", permission=Permission.PIPELINE_READ, response_model=ReproductionOut)
def reproduction_report(run_id: int, conn: Transaction, caller: Caller) -> ReproductionOut:
    """For a run made by reproduce: each output of the original run, identical, different or missing
    in this one (missing ones may still come while it runs: see ``finished``)."""
    found = reproduction.report(conn, run_id)
    return ReproductionOut(
        run_id=found.run_id,
        original_run_id=found.original_run_id,
        state=found.state,
        finished=found.finished,
        identical=found.identical,
        outputs=[
            ReproductionOutputOut(
                job=o.job,
                output=o.output,
                path=o.path,
                original_sha256=o.original_sha256,
                new_sha256=o.new_sha256,
                verdict=o.verdict,
            )
            for o in found.outputs
        ],
    )
