"""A team's allow-list on a server: read it, replace it, reset it to the default (deny).

The policy is applied when a revision is pushed (RL601 diagnostics, 422) and again when a run is
queued and when the engine starts it, so a tightened policy also stops runs already queued.
Functions take a connection and never commit (the route or command owns the transaction).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from reefline.services import audit
from reefline.services.accounts.teams import get_team
from reefline.services.types import Invalid
from reefline.spec.policy import Policy, PolicyError
from reefline.store import repo_policies


@dataclass(frozen=True)
class TeamPolicy:
    team: str
    images: tuple[str, ...]
    executors: tuple[str, ...]
    is_default: bool  # the team never set one (or reset it): the server's default
    updated_at: float | None
    updated_by: str | None

    def policy(self) -> Policy:
        if self.is_default:
            return Policy.server_default(self.team)
        return Policy(self.images, self.executors, f"team '{self.team}'")


def get_team_policy(conn: Connection, team_id: int) -> TeamPolicy:
    team = get_team(conn, team_id)
    row = repo_policies.get_team_policy(conn, team_id)
    if row is None:
        default = Policy.server_default(team.name)
        return TeamPolicy(team.name, default.images or (), default.executors or (), True, None, None)
    return TeamPolicy(team.name, row.images, row.executors, False, row.updated_at, row.updated_by_name)


def policy_for_team(conn: Connection, team_id: int) -> Policy:
    """What the linter and the engine check a team's pipelines against."""
    return get_team_policy(conn, team_id).policy()


def set_team_policy(
    conn: Connection, actor: audit.Actor, team_id: int, images: Sequence[str], executors: Sequence[str]
) -> TeamPolicy:
    """Replace the team's allow-list. An empty list allows nothing of that kind."""
    team = get_team(conn, team_id)
    try:
        checked = Policy.build(images, executors, f"team '{team.name}'")
    except PolicyError as exc:
        raise Invalid(str(exc), details={"team": team.name}) from None
    repo_policies.set_team_policy(
        conn, team_id, checked.images or (), checked.executors or (), time.time(), actor.user_id
    )
    details = {"images": list(checked.images or ()), "executors": list(checked.executors or ())}
    audit.record(conn, actor, "team.policy", f"team {team.name}", team_id=team_id, details=details)
    return get_team_policy(conn, team_id)


def reset_team_policy(conn: Connection, actor: audit.Actor, team_id: int) -> TeamPolicy:
    """Back to the server's default: no image, only the sandboxed local executor."""
    team = get_team(conn, team_id)
    if repo_policies.delete_team_policy(conn, team_id):
        audit.record(
            conn, actor, "team.policy", f"team {team.name}", team_id=team_id, details={"reset": True}
        )
    return get_team_policy(conn, team_id)
