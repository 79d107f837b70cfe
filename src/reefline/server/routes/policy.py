"""A team's allow-list of container images and executors: read it (members), set or reset it
(``team.manage``). Without one, a team has the default: no image, only the sandboxed local executor."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from pydantic import BaseModel, Field

from reefline.server.deps import Access, Transaction, access
from reefline.server.routing import SecureRouter
from reefline.services import team_policy
from reefline.services.permissions import Permission
from reefline.spec.policy import MAX_PATTERN_LENGTH, MAX_PATTERNS

router = SecureRouter(tags=["teams"])
Caller = Annotated[Access, Depends(access)]
POLICY = "/teams/{team}/policy"
Entries = Annotated[
    list[Annotated[str, Field(max_length=MAX_PATTERN_LENGTH)]], Field(max_length=MAX_PATTERNS)
]


class PolicyIn(BaseModel):
    images: Entries = Field(
        description="Image names and globs the team may run: `busybox` (any tag), `busybox:1.36`, "
        "`registry.example/team/*` (`*` within a path segment; "
        "`registry.example/**`: any depth). Empty: no image."
    )
    executors: Entries = Field(description="Executors the team may use, e.g. `local`, `docker`. Empty: none.")


class PolicyOut(BaseModel):
    team: str
    images: list[str]
    executors: list[str]
    default: bool = Field(description="true: the team never set a policy and has the server's default (deny)")
    updated_at: float | None
    updated_by: str | None

    @classmethod
    def of(cls, found: Any) -> PolicyOut:
        return cls(
            team=found.team,
            images=list(found.images),
            executors=list(found.executors),
            default=found.is_default,
            updated_at=found.updated_at,
            updated_by=found.updated_by,
        )


@router.get(POLICY, permission=Permission.BOARD_READ, response_model=PolicyOut)
def get_policy(team: str, conn: Transaction, caller: Caller) -> PolicyOut:
    return PolicyOut.of(team_policy.get_team_policy(conn, caller.team))


@router.put(POLICY, permission=Permission.TEAM_MANAGE, response_model=PolicyOut)
def put_policy(team: str, body: PolicyIn, conn: Transaction, caller: Caller) -> PolicyOut:
    """Replace the team's allow-list; pushes and runs from now on are checked against it."""
    found = team_policy.set_team_policy(conn, caller.actor, caller.team, body.images, body.executors)
    return PolicyOut.of(found)


@router.delete(POLICY, permission=Permission.TEAM_MANAGE, response_model=PolicyOut)
def reset_policy(team: str, conn: Transaction, caller: Caller) -> PolicyOut:
    """Back to the default: no image, only the sandboxed local executor."""
    return PolicyOut.of(team_policy.reset_team_policy(conn, caller.actor, caller.team))
