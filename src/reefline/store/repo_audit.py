"""The audit log: who changed what, when and from where. Appended, never updated."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from reefline.store.tables import audit_log, users


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    at: float
    user_id: int | None
    username: str | None
    team_id: int | None
    action: str
    target: str
    details: dict[str, Any]
    remote: str | None


def insert_audit(
    conn: Connection,
    *,
    at: float,
    user_id: int | None,
    team_id: int | None,
    action: str,
    target: str,
    details: Mapping[str, Any],
    remote: str | None,
) -> int:
    result = conn.execute(
        audit_log.insert().values(
            at=at,
            user_id=user_id,
            team_id=team_id,
            action=action,
            target=target,
            details=dict(details),
            remote=remote,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def list_audit(
    conn: Connection, *, team_id: int | None, before_id: int | None = None, limit: int = 100
) -> list[AuditRow]:
    """Newest first; ``team_id=None`` lists every entry (site admins)."""
    query = (
        select(*audit_log.c, users.c.username)
        .select_from(audit_log.outerjoin(users, audit_log.c.user_id == users.c.id))
        .order_by(audit_log.c.id.desc())
        .limit(limit)
    )
    if team_id is not None:
        query = query.where(audit_log.c.team_id == team_id)
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    return [AuditRow(**row._mapping) for row in conn.execute(query)]
