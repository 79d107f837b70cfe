"""Boards, server pipelines and their revisions. Every function takes a connection and never commits.

A server pipeline is the row ``(name, source_path=f"team:{team_id}")`` with ``team_id`` set, so the
unique ``(name, source_path)`` makes a name unique per team. A laptop pipeline has ``team_id`` None
and its spec file as ``source_path``; :func:`record_laptop_revision` gives its runs revisions too.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, func, select

from reefline.store._util import insert_ignoring_conflicts, inserted_id
from reefline.store.tables import boards, pipelines, revisions, users


@dataclass(frozen=True, slots=True)
class BoardRow:
    id: int
    team_id: int
    name: str
    description: str | None
    created_at: float


@dataclass(frozen=True, slots=True)
class PipelineRow:
    id: int
    team_id: int | None
    name: str
    board_id: int | None
    board_name: str | None
    current_revision: int | None  # the number of the current revision
    created_at: float


@dataclass(frozen=True, slots=True)
class RevisionRow:
    id: int
    pipeline_id: int
    number: int
    spec_text: str
    spec_hash: str
    author_id: int | None  # None: recorded by a laptop run
    author: str | None  # the author's username
    message: str | None
    created_at: float
    source_sha256: str | None
    source_size: int | None
    rollback_of: int | None  # the number of the revision this one restores


def team_source_path(team_id: int) -> str:
    return f"team:{team_id}"


def spec_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# ------------------------------------------------------------------ boards


def insert_board(
    conn: Connection, *, team_id: int, name: str, description: str | None, now: float
) -> int | None:
    """The new board's id, or None when the team has a board of that name already."""
    stmt = insert_ignoring_conflicts(conn, boards, ["team_id", "name"])
    values = {"team_id": team_id, "name": name, "description": description, "created_at": now}
    # RETURNING, not rowcount: psycopg reports no reliable count for an insert that returns its id.
    new_id = conn.execute(stmt.values(**values).returning(boards.c.id)).scalar()
    return None if new_id is None else int(new_id)


def find_board(conn: Connection, team_id: int, name: str) -> BoardRow | None:
    row = conn.execute(select(boards).where(boards.c.team_id == team_id, boards.c.name == name)).first()
    return None if row is None else BoardRow(**row._mapping)


def board_by_id(conn: Connection, board_id: int) -> BoardRow | None:
    row = conn.execute(select(boards).where(boards.c.id == board_id)).first()
    return None if row is None else BoardRow(**row._mapping)


def list_boards(conn: Connection, team_id: int) -> list[BoardRow]:
    query = select(boards).where(boards.c.team_id == team_id).order_by(boards.c.name)
    return [BoardRow(**row._mapping) for row in conn.execute(query)]


# ------------------------------------------------------------------ pipelines

_PIPELINE_COLUMNS = (
    pipelines.c.id,
    pipelines.c.team_id,
    pipelines.c.name,
    pipelines.c.board_id,
    boards.c.name.label("board_name"),
    pipelines.c.current_revision,
    pipelines.c.created_at,
)
_PIPELINES = select(*_PIPELINE_COLUMNS).select_from(
    pipelines.outerjoin(boards, pipelines.c.board_id == boards.c.id)
)


def _pipeline(row: Row[Any] | None) -> PipelineRow | None:
    return None if row is None else PipelineRow(**row._mapping)


def find_pipeline(conn: Connection, team_id: int, name: str) -> PipelineRow | None:
    query = _PIPELINES.where(pipelines.c.team_id == team_id, pipelines.c.name == name)
    return _pipeline(conn.execute(query).first())


def pipeline_by_id(conn: Connection, pipeline_id: int) -> PipelineRow | None:
    return _pipeline(conn.execute(_PIPELINES.where(pipelines.c.id == pipeline_id)).first())


def list_pipelines(conn: Connection, team_id: int, board_id: int | None = None) -> list[PipelineRow]:
    query = _PIPELINES.where(pipelines.c.team_id == team_id)
    if board_id is not None:
        query = query.where(pipelines.c.board_id == board_id)
    return [PipelineRow(**row._mapping) for row in conn.execute(query.order_by(pipelines.c.name))]


def create_team_pipeline(
    conn: Connection, *, team_id: int, name: str, board_id: int | None, now: float
) -> tuple[PipelineRow, bool]:
    """The team's pipeline ``name``, created if new: ``(row, created)``; safe against a concurrent creator."""
    stmt = insert_ignoring_conflicts(conn, pipelines, ["name", "source_path"])
    new_id = conn.execute(
        stmt.values(
            name=name,
            source_path=team_source_path(team_id),
            team_id=team_id,
            board_id=board_id,
            created_at=now,
        ).returning(pipelines.c.id)
    ).scalar()
    row = find_pipeline(conn, team_id, name)
    assert row is not None
    return row, new_id is not None


def set_pipeline_board(conn: Connection, pipeline_id: int, board_id: int | None) -> None:
    conn.execute(pipelines.update().where(pipelines.c.id == pipeline_id).values(board_id=board_id))


def lock_pipeline(conn: Connection, pipeline_id: int) -> None:
    """Hold the pipeline's row until the transaction ends, so two pushes number their revisions in turn.

    An update rather than ``FOR UPDATE``: SQLite has no row locks, but an update takes its write lock.
    """
    conn.execute(
        pipelines.update()
        .where(pipelines.c.id == pipeline_id)
        .values(current_revision=pipelines.c.current_revision)
    )


# ------------------------------------------------------------------ revisions

_REVISIONS = select(*revisions.c, users.c.username.label("author")).select_from(
    revisions.outerjoin(users, revisions.c.author_id == users.c.id)
)


def _revision(row: Row[Any] | None) -> RevisionRow | None:
    return None if row is None else RevisionRow(**row._mapping)


def get_revision(conn: Connection, pipeline_id: int, number: int) -> RevisionRow | None:
    query = _REVISIONS.where(revisions.c.pipeline_id == pipeline_id, revisions.c.number == number)
    return _revision(conn.execute(query).first())


def latest_revision(conn: Connection, pipeline_id: int) -> RevisionRow | None:
    query = _REVISIONS.where(revisions.c.pipeline_id == pipeline_id).order_by(revisions.c.number.desc())
    return _revision(conn.execute(query.limit(1)).first())


def list_revisions(conn: Connection, pipeline_id: int) -> list[RevisionRow]:
    """Newest first."""
    query = _REVISIONS.where(revisions.c.pipeline_id == pipeline_id).order_by(revisions.c.number.desc())
    return [RevisionRow(**row._mapping) for row in conn.execute(query)]


def append_revision(
    conn: Connection,
    *,
    pipeline_id: int,
    spec_text: str,
    author_id: int | None,
    message: str | None,
    source_sha256: str | None,
    source_size: int | None,
    rollback_of: int | None = None,
    now: float | None = None,
) -> RevisionRow:
    """A new revision numbered after the latest one, made the pipeline's current revision.

    Call :func:`lock_pipeline` first where two writers may append at once.
    """
    latest = conn.execute(
        select(func.max(revisions.c.number)).where(revisions.c.pipeline_id == pipeline_id)
    ).scalar()
    number = int(latest or 0) + 1
    revision_id = inserted_id(
        conn.execute(
            revisions.insert().values(
                pipeline_id=pipeline_id,
                number=number,
                spec_text=spec_text,
                spec_hash=spec_hash(spec_text),
                author_id=author_id,
                message=message,
                created_at=time.time() if now is None else now,
                source_sha256=source_sha256,
                source_size=source_size,
                rollback_of=rollback_of,
            )
        )
    )
    conn.execute(pipelines.update().where(pipelines.c.id == pipeline_id).values(current_revision=number))
    row = _revision(conn.execute(_REVISIONS.where(revisions.c.id == revision_id)).first())
    assert row is not None
    return row


def record_laptop_revision(conn: Connection, pipeline_id: int, spec_text: str) -> int:
    """The id of the revision of ``spec_text`` for a laptop run: the latest one if it has this text,
    else a new one (no author, no source). For the run's ``revision_id``, so ``reefline runs`` can
    show a revision number."""
    lock_pipeline(conn, pipeline_id)
    latest = latest_revision(conn, pipeline_id)
    if latest is not None and latest.spec_hash == spec_hash(spec_text):
        return latest.id
    row = append_revision(
        conn,
        pipeline_id=pipeline_id,
        spec_text=spec_text,
        author_id=None,
        message=None,
        source_sha256=None,
        source_size=None,
    )
    return row.id
