"""Record every change a person makes, in the transaction that makes it."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection

from reefline.store.repo_audit import AuditRow, insert_audit, list_audit


@dataclass(frozen=True)
class Actor:
    """Who acts and from where: a signed-in user (``user_id``), or the system (None)."""

    user_id: int | None
    remote: str | None = None  # client address, as the API saw it

    @classmethod
    def system(cls) -> Actor:
        return cls(None, None)


def record(
    conn: Connection,
    actor: Actor,
    action: str,
    target: str,
    *,
    team_id: int | None = None,
    details: Mapping[str, object] | None = None,
) -> None:
    """Append one entry; ``action`` is a dotted verb such as ``pipeline.push``. Never pass a secret."""
    insert_audit(
        conn,
        at=time.time(),
        user_id=actor.user_id,
        team_id=team_id,
        action=action,
        target=target,
        details=dict(details or {}),
        remote=actor.remote,
    )


def entries(
    conn: Connection, *, team_id: int | None, before_id: int | None = None, limit: int = 100
) -> list[AuditRow]:
    return list_audit(conn, team_id=team_id, before_id=before_id, limit=max(1, min(limit, 1000)))
