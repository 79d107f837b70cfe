"""Secrets: write-only values scoped to a team, a board or a pipeline, encrypted at rest.

A run of a pipeline gets every secret in reach as an environment variable; where names meet, the
pipeline's wins over its board's, which wins over the team's (:func:`secrets_for_run`). Listing
shows names, scopes and who changed them when, never a value. Values shorter than
:data:`reefline.engine.masking.MIN_LENGTH` characters are stored and injected but cannot be
masked in logs. Callers check permissions and own the transaction; every change records one audit
entry (without the value).
"""

from __future__ import annotations

import re
import time

from sqlalchemy import Connection

from reefline.services import audit
from reefline.services.audit import Actor
from reefline.services.pipelines import get_board_by_id, get_pipeline_by_id
from reefline.services.secret_box import SecretBox
from reefline.services.types import Invalid, NotFound
from reefline.store import repo_secrets as repo
from reefline.store.repo_secrets import SecretRow

NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,127}")
MAX_VALUE_BYTES = 64 * 1024
# What the engine sets itself, or a job needs to run at all: a secret may not replace them.
RESERVED_NAMES = frozenset({"PATH", "HOME", "LANG", "TMPDIR", "PWD", "SHELL", "USER"})
RESERVED_PREFIX = "REEFLINE_"


def set_secret(
    conn: Connection,
    box: SecretBox,
    actor: Actor,
    *,
    team_id: int,
    name: str,
    value: str,
    board_id: int | None = None,
    pipeline_id: int | None = None,
) -> SecretRow:
    """Create or replace the secret ``name`` of the team, or of one of its boards or pipelines."""
    _check_name(name)
    size = len(value.encode("utf-8", "surrogatepass"))
    if not value:
        raise Invalid(f"secret {name} needs a value (to remove it, delete it)", details={"name": name})
    if size > MAX_VALUE_BYTES:
        raise Invalid(
            f"the value of secret {name} is {size} bytes; at most {MAX_VALUE_BYTES} (64 KiB) are allowed",
            details={"name": name, "limit_bytes": MAX_VALUE_BYTES},
        )
    if re.search("[\ud800-\udfff]", value):
        raise Invalid(f"the value of secret {name} is not valid text (it has a lone surrogate)")
    if "\x00" in value:
        raise Invalid(
            f"the value of secret {name} contains a NUL character, which no environment variable can"
        )
    target = _target(conn, team_id, name, board_id, pipeline_id)
    repo.lock_team(conn, team_id)
    created = repo.upsert_secret(
        conn,
        team_id=team_id,
        board_id=board_id,
        pipeline_id=pipeline_id,
        name=name,
        ciphertext=box.encrypt(value),
        user_id=actor.user_id,
        now=time.time(),
    )
    audit.record(conn, actor, "secret.write", target, team_id=team_id, details={"created": created})
    return next(
        row
        for row in repo.list_secrets(conn, team_id, board_id=board_id, pipeline_id=pipeline_id)
        if row.name == name and row.board_id == board_id and row.pipeline_id == pipeline_id
    )


def delete_secret(
    conn: Connection,
    actor: Actor,
    *,
    team_id: int,
    name: str,
    board_id: int | None = None,
    pipeline_id: int | None = None,
) -> None:
    """Remove the secret from exactly that scope; NotFound when it has none of that name."""
    target = _target(conn, team_id, name, board_id, pipeline_id)
    if not repo.delete_secret(conn, team_id=team_id, board_id=board_id, pipeline_id=pipeline_id, name=name):
        raise NotFound(f"no {target}", details={"name": name})
    audit.record(conn, actor, "secret.delete", target, team_id=team_id)


def list_secrets(
    conn: Connection, team_id: int, *, board_id: int | None = None, pipeline_id: int | None = None
) -> list[SecretRow]:
    """Names, scopes, when and by whom each was last set: the team's, or one board's or pipeline's."""
    if board_id is not None:
        get_board_by_id(conn, team_id, board_id)
    if pipeline_id is not None:
        get_pipeline_by_id(conn, pipeline_id, team_id)
    return repo.list_secrets(conn, team_id, board_id=board_id, pipeline_id=pipeline_id)


def secrets_for_run(conn: Connection, box: SecretBox, pipeline_id: int) -> dict[str, str]:
    """The clear values a run of the pipeline gets, by name (pipeline over board over team).

    For the engine only: pass them to ``RunExecution(secrets=…)``, which injects them outside the
    cache key and masks them in logs. A laptop pipeline (no team) has none.
    """
    pipeline = get_pipeline_by_id(conn, pipeline_id)
    if pipeline.team_id is None:
        return {}
    values: dict[str, str] = {}
    for scope, name, ciphertext in repo.secrets_in_reach(
        conn, pipeline.team_id, pipeline.board_id, pipeline_id
    ):
        values[name] = box.decrypt(ciphertext, f"the {scope} secret {name}")  # narrower scopes come later
    return values


def _check_name(name: str) -> None:
    if not NAME.fullmatch(name):
        raise Invalid(
            f"secret name {name!r} is not valid: use 1 to 128 uppercase letters, digits and '_', not "
            "starting with a digit (it becomes an environment variable)",
            details={"name": name},
        )
    if name in RESERVED_NAMES or name.startswith(RESERVED_PREFIX):
        raise Invalid(
            f"secret name {name} is reserved: the engine sets {name} itself; choose another name",
            details={"name": name},
        )


def _target(conn: Connection, team_id: int, name: str, board_id: int | None, pipeline_id: int | None) -> str:
    """``secret NAME of board research`` etc., after checking the scope is the team's."""
    if board_id is not None and pipeline_id is not None:
        raise Invalid("a secret belongs to a board or to a pipeline, not both: give one of them")
    if pipeline_id is not None:
        return f"secret {name} of pipeline {get_pipeline_by_id(conn, pipeline_id, team_id).name}"
    if board_id is not None:
        return f"secret {name} of board {get_board_by_id(conn, team_id, board_id).name}"
    return f"secret {name} of the team"
