"""Secrets as stored: a name, a scope (team, board or pipeline) and a Fernet token, never the value.

Every function takes a connection and never commits. A secret's scope is exactly one of: the
team (``board_id`` and ``pipeline_id`` None), a board of it, or a pipeline of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, and_, or_, select

from reefline.store.tables import boards, pipelines, secrets, teams, users


@dataclass(frozen=True, slots=True)
class SecretRow:
    """What may be shown of a secret: no value, not even encrypted."""

    id: int
    team_id: int
    board_id: int | None
    board_name: str | None
    pipeline_id: int | None
    pipeline_name: str | None
    name: str
    created_at: float
    updated_at: float
    updated_by: int | None
    updated_by_name: str | None

    @property
    def scope(self) -> str:
        return (
            "pipeline" if self.pipeline_id is not None else "board" if self.board_id is not None else "team"
        )


_SHOWN = select(
    secrets.c.id,
    secrets.c.team_id,
    secrets.c.board_id,
    boards.c.name.label("board_name"),
    secrets.c.pipeline_id,
    pipelines.c.name.label("pipeline_name"),
    secrets.c.name,
    secrets.c.created_at,
    secrets.c.updated_at,
    secrets.c.updated_by,
    users.c.username.label("updated_by_name"),
).select_from(
    secrets.outerjoin(boards, secrets.c.board_id == boards.c.id)
    .outerjoin(pipelines, secrets.c.pipeline_id == pipelines.c.id)
    .outerjoin(users, secrets.c.updated_by == users.c.id)
)


def _scope(team_id: int, board_id: int | None, pipeline_id: int | None, name: str):  # type: ignore[no-untyped-def]
    return and_(
        secrets.c.team_id == team_id,
        secrets.c.board_id.is_(None) if board_id is None else secrets.c.board_id == board_id,
        secrets.c.pipeline_id.is_(None) if pipeline_id is None else secrets.c.pipeline_id == pipeline_id,
        secrets.c.name == name,
    )


def lock_team(conn: Connection, team_id: int) -> None:
    """Serialize secret writes of one team (the scope columns can be NULL: no unique index helps)."""
    conn.execute(teams.update().where(teams.c.id == team_id).values(name=teams.c.name))


def upsert_secret(
    conn: Connection,
    *,
    team_id: int,
    board_id: int | None,
    pipeline_id: int | None,
    name: str,
    ciphertext: str,
    user_id: int | None,
    now: float,
) -> bool:
    """Store the secret; True when it is new, False when it replaced one. Call :func:`lock_team` first."""
    where = _scope(team_id, board_id, pipeline_id, name)
    existing = conn.execute(select(secrets.c.id).where(where)).scalars().all()
    if existing:
        conn.execute(
            secrets.update()
            .where(secrets.c.id.in_(existing))
            .values(ciphertext=ciphertext, updated_at=now, updated_by=user_id)
        )
        return False
    conn.execute(
        secrets.insert().values(
            team_id=team_id,
            board_id=board_id,
            pipeline_id=pipeline_id,
            name=name,
            ciphertext=ciphertext,
            created_at=now,
            updated_at=now,
            updated_by=user_id,
        )
    )
    return True


def delete_secret(
    conn: Connection, *, team_id: int, board_id: int | None, pipeline_id: int | None, name: str
) -> bool:
    result = conn.execute(secrets.delete().where(_scope(team_id, board_id, pipeline_id, name)))
    return result.rowcount > 0


def list_secrets(
    conn: Connection, team_id: int, *, board_id: int | None = None, pipeline_id: int | None = None
) -> list[SecretRow]:
    """The team's secrets (all scopes), or only those of one board or one pipeline; by scope and name."""
    query = _SHOWN.where(secrets.c.team_id == team_id)
    if pipeline_id is not None:
        query = query.where(secrets.c.pipeline_id == pipeline_id)
    elif board_id is not None:
        query = query.where(secrets.c.board_id == board_id, secrets.c.pipeline_id.is_(None))
    query = query.order_by(
        secrets.c.pipeline_id.is_not(None), secrets.c.board_id.is_not(None), secrets.c.name, secrets.c.id
    )
    return [SecretRow(**row._mapping) for row in conn.execute(query)]


def secrets_in_reach(
    conn: Connection, team_id: int, board_id: int | None, pipeline_id: int
) -> list[tuple[str, str, str]]:
    """``(scope, name, ciphertext)`` of every secret a run of the pipeline gets, widest scope first."""
    scopes = [and_(secrets.c.board_id.is_(None), secrets.c.pipeline_id.is_(None))]
    if board_id is not None:
        scopes.append(and_(secrets.c.board_id == board_id, secrets.c.pipeline_id.is_(None)))
    scopes.append(secrets.c.pipeline_id == pipeline_id)
    query = (
        select(secrets.c.board_id, secrets.c.pipeline_id, secrets.c.name, secrets.c.ciphertext)
        .where(secrets.c.team_id == team_id, or_(*scopes))
        .order_by(secrets.c.pipeline_id.is_not(None), secrets.c.board_id.is_not(None), secrets.c.id)
    )
    found: list[tuple[str, str, str]] = []
    for row in conn.execute(query):
        scope = "pipeline" if row.pipeline_id is not None else "board" if row.board_id is not None else "team"
        found.append((scope, row.name, row.ciphertext))
    return found
