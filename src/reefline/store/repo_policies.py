"""A team's allow-list as stored (``team_policies``). Takes a connection, never commits."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from reefline.store.tables import team_policies, users


@dataclass(frozen=True, slots=True)
class TeamPolicyRow:
    team_id: int
    images: tuple[str, ...]
    executors: tuple[str, ...]
    updated_at: float
    updated_by_name: str | None


def get_team_policy(conn: Connection, team_id: int) -> TeamPolicyRow | None:
    row = conn.execute(
        select(team_policies, users.c.username)
        .select_from(team_policies.outerjoin(users, team_policies.c.updated_by == users.c.id))
        .where(team_policies.c.team_id == team_id)
    ).first()
    if row is None:
        return None
    return TeamPolicyRow(
        team_id=row.team_id,
        images=tuple(row.images),
        executors=tuple(row.executors),
        updated_at=row.updated_at,
        updated_by_name=row.username,
    )


def set_team_policy(  # noqa: PLR0917
    conn: Connection,
    team_id: int,
    images: tuple[str, ...],
    executors: tuple[str, ...],
    now: float,
    user_id: int | None,
) -> None:
    """Insert or replace the team's row (one statement: two concurrent writers cannot collide)."""
    values = {"images": list(images), "executors": list(executors), "updated_at": now, "updated_by": user_id}
    upsert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = upsert(team_policies).values(team_id=team_id, **values)
    conn.execute(statement.on_conflict_do_update(index_elements=["team_id"], set_=values))


def delete_team_policy(conn: Connection, team_id: int) -> bool:
    return bool(conn.execute(delete(team_policies).where(team_policies.c.team_id == team_id)).rowcount)
