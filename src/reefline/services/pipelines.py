"""Boards, server pipelines and their revisions: create, push, list, diff, roll back.

A server pipeline is identified by (team, name); its name is the spec's ``name:``. Every push of new
text (or new source) is a new immutable revision, numbered 1, 2, 3 … and made current; a rollback is
a new revision too, copying an old one. Callers check permissions and own the transaction; every
change records one audit entry in it. Laptop runs get revisions through
:func:`reefline.store.repo_pipelines.record_laptop_revision`.
"""

from __future__ import annotations

import difflib
import re
import time
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from reefline.services import audit
from reefline.services.audit import Actor
from reefline.services.source_bundle import SourceRef
from reefline.services.types import Conflict, Invalid, NotFound, SpecInvalid
from reefline.spec.diagnostics import Diagnostic, Severity, has_errors
from reefline.spec.policy import Policy
from reefline.store import repo_pipelines as repo
from reefline.store.repo_pipelines import BoardRow, PipelineRow, RevisionRow
from reefline.store.tables import teams

BOARD_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
BOARD_NAME_RULE = "1 to 63 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit"
MAX_DESCRIPTION = 2000
MAX_MESSAGE = 10_000
# A server pipeline's name appears in URLs and in `team/name` references: no '/', no controls.
PIPELINE_NAME = re.compile(r"[^\s/\x00-\x1f\x7f]([^/\x00-\x1f\x7f]{0,198}[^\s/\x00-\x1f\x7f])?")


@dataclass(frozen=True)
class PushResult:
    pipeline: PipelineRow
    revision: RevisionRow  # the current revision: the new one, or the unchanged one (created False)
    created: bool  # a new revision was made
    pipeline_created: bool = False
    warnings: list[Diagnostic] = field(default_factory=list)


# ------------------------------------------------------------------ boards


def create_board(
    conn: Connection, actor: Actor, team_id: int, name: str, description: str | None = None
) -> BoardRow:
    """A new board of the team; a bad name is Invalid, a name the team uses already a Conflict."""
    if not BOARD_NAME.fullmatch(name):
        raise Invalid(f"board name {name!r} is not valid: use {BOARD_NAME_RULE}", details={"name": name})
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise Invalid(
            f"a board description has at most {MAX_DESCRIPTION} characters ({len(description)} given)"
        )
    board_id = repo.insert_board(conn, team_id=team_id, name=name, description=description, now=time.time())
    if board_id is None:
        raise Conflict(f"this team has a board named {name!r} already", details={"name": name})
    audit.record(conn, actor, "board.create", f"board {_team_name(conn, team_id)}/{name}", team_id=team_id)
    board = repo.board_by_id(conn, board_id)
    assert board is not None
    return board


def list_boards(conn: Connection, team_id: int) -> list[BoardRow]:
    return repo.list_boards(conn, team_id)


def get_board(conn: Connection, team_id: int, name: str) -> BoardRow:
    board = repo.find_board(conn, team_id, name)
    if board is None:
        raise NotFound(f"no board named {name!r} in this team", details={"board": name})
    return board


def get_board_by_id(conn: Connection, team_id: int, board_id: int) -> BoardRow:
    """The team's board ``board_id``; another team's board is NotFound like a missing one."""
    board = repo.board_by_id(conn, board_id) if _storable(board_id) else None
    if board is None or board.team_id != team_id:
        raise NotFound(f"no board {board_id} in this team", details={"board_id": board_id})
    return board


# ------------------------------------------------------------------ pipelines


def get_pipeline(conn: Connection, team_id: int, name: str) -> PipelineRow:
    pipeline = repo.find_pipeline(conn, team_id, name)
    if pipeline is None:
        raise NotFound(
            f"no pipeline named {name!r} in this team (push one with `reefline push`)",
            details={"pipeline": name},
        )
    return pipeline


def get_pipeline_by_id(conn: Connection, pipeline_id: int, team_id: int | None = None) -> PipelineRow:
    """The pipeline ``pipeline_id`` (of ``team_id`` when given: another team's is NotFound)."""
    pipeline = repo.pipeline_by_id(conn, pipeline_id) if _storable(pipeline_id) else None
    if pipeline is None or (team_id is not None and pipeline.team_id != team_id):
        raise NotFound(f"no pipeline {pipeline_id}", details={"pipeline_id": pipeline_id})
    return pipeline


def list_pipelines(conn: Connection, team_id: int, board_id: int | None = None) -> list[PipelineRow]:
    """The team's pipelines by name, or just those of one board."""
    return repo.list_pipelines(conn, team_id, board_id)


# ------------------------------------------------------------------ revisions


def push_revision(
    conn: Connection,
    actor: Actor,
    *,
    team_id: int,
    spec_text: str,
    filename: str = "reefline.yaml",
    board_id: int | None = None,
    message: str | None = None,
    source: SourceRef | None = None,
) -> PushResult:
    """Validate ``spec_text`` like ``reefline validate`` and make it the pipeline's new revision.

    The pipeline is the team's pipeline named by the spec's ``name:``, created on its first push on
    the board ``board_id`` or, without it, the board the spec's ``board:`` names (a later push with
    either moves it there). ``source`` is the project's uploaded source (see
    :func:`reefline.services.source_bundle.store_bundle`); None keeps the current revision's source,
    so an edit of the YAML alone keeps the code. Text and source identical to the current revision
    create nothing (``created`` False). Errors: SpecInvalid (the diagnostics, with positions),
    Invalid (no board named, or an unknown one in ``board:``), NotFound (``board_id`` not the team's).
    """
    _check_message(message)
    from reefline.services.team_policy import policy_for_team

    policy = policy_for_team(conn, team_id)
    warnings, name, spec_board, board_span = _validate(spec_text, filename, policy)
    board: BoardRow | None = None
    if board_id is not None:
        board = get_board_by_id(conn, team_id, board_id)
    elif spec_board is not None:
        board = repo.find_board(conn, team_id, spec_board)
        if board is None:
            raise Invalid(
                f"{filename}:{board_span}: `board: {spec_board}` names no board of this team; create it "
                f"first or push with another board ({_board_names(conn, team_id)})",
                details={"board": spec_board},
            )
    existing = repo.find_pipeline(conn, team_id, name)
    if existing is None and board is None:
        raise Invalid(
            f"pipeline {name!r} is new: say which board it goes on, with `board: NAME` in {filename} "
            f"or with --board NAME ({_board_names(conn, team_id)})",
            details={"pipeline": name},
        )
    now = time.time()
    pipeline, pipeline_created = repo.create_team_pipeline(
        conn, team_id=team_id, name=name, board_id=board.id if board else None, now=now
    )
    repo.lock_pipeline(conn, pipeline.id)
    current = repo.latest_revision(conn, pipeline.id)
    if source is None and current is not None and current.source_sha256 is not None:
        source = SourceRef(current.source_sha256, current.source_size or 0)
    moved = board is not None and pipeline.board_id != board.id
    if moved:
        assert board is not None
        repo.set_pipeline_board(conn, pipeline.id, board.id)
    target = f"pipeline {_team_name(conn, team_id)}/{name}"
    if moved and not pipeline_created:
        assert board is not None
        audit.record(conn, actor, "pipeline.move", target, team_id=team_id, details={"board": board.name})
    if current is not None and _same(current, repo.spec_hash(spec_text), source):
        return PushResult(_reload(conn, pipeline.id), current, False, False, warnings)
    revision = repo.append_revision(
        conn,
        pipeline_id=pipeline.id,
        spec_text=spec_text,
        author_id=actor.user_id,
        message=message,
        source_sha256=source.sha256 if source else None,
        source_size=source.size if source else None,
        now=now,
    )
    details: dict[str, object] = {"revision": revision.number, "spec_sha256": revision.spec_hash}
    if source is not None:
        details["source_sha256"] = source.sha256
    if pipeline_created:
        details["created"] = True
        details["board"] = board.name if board else None
    audit.record(conn, actor, "pipeline.push", target, team_id=team_id, details=details)
    return PushResult(_reload(conn, pipeline.id), revision, True, pipeline_created, warnings)


def list_revisions(conn: Connection, pipeline_id: int) -> list[RevisionRow]:
    """Newest first."""
    return repo.list_revisions(conn, pipeline_id)


def get_revision(conn: Connection, pipeline_id: int, number: int) -> RevisionRow:
    revision = repo.get_revision(conn, pipeline_id, number) if _storable(number) else None
    if revision is None:
        latest = repo.latest_revision(conn, pipeline_id)
        known = f"revisions are 1 to {latest.number}" if latest else "it has no revisions yet"
        raise NotFound(f"no revision {number} of this pipeline ({known})", details={"revision": number})
    return revision


def current_revision(conn: Connection, pipeline_id: int) -> RevisionRow:
    pipeline = get_pipeline_by_id(conn, pipeline_id)
    if pipeline.current_revision is None:
        raise NotFound(
            f"pipeline {pipeline.name!r} has no revision yet", details={"pipeline_id": pipeline_id}
        )
    return get_revision(conn, pipeline_id, pipeline.current_revision)


def diff_revisions(conn: Connection, pipeline_id: int, a: int, b: int) -> str:
    """A unified diff of the spec text from revision ``a`` to ``b`` ("" when equal)."""
    old, new = get_revision(conn, pipeline_id, a), get_revision(conn, pipeline_id, b)
    lines = difflib.unified_diff(_lines(old.spec_text), _lines(new.spec_text), f"rev {a}", f"rev {b}")
    return "".join(lines)


def rollback(
    conn: Connection, actor: Actor, pipeline_id: int, number: int, message: str | None = None
) -> PushResult:
    """Make revision ``number`` current again, as a new revision with its text and source
    (``rollback_of=number``). Nothing is created when the current revision has them already."""
    _check_message(message)
    pipeline = get_pipeline_by_id(conn, pipeline_id)
    old = get_revision(conn, pipeline_id, number)
    repo.lock_pipeline(conn, pipeline_id)
    current = repo.latest_revision(conn, pipeline_id)
    source = SourceRef(old.source_sha256, old.source_size or 0) if old.source_sha256 else None
    if current is not None and _same(current, old.spec_hash, source):
        return PushResult(_reload(conn, pipeline_id), current, False)
    revision = repo.append_revision(
        conn,
        pipeline_id=pipeline_id,
        spec_text=old.spec_text,
        author_id=actor.user_id,
        message=message if message is not None else f"rollback to revision {number}",
        source_sha256=old.source_sha256,
        source_size=old.source_size,
        rollback_of=number,
    )
    team = _team_name(conn, pipeline.team_id) if pipeline.team_id is not None else "laptop"
    audit.record(
        conn,
        actor,
        "pipeline.rollback",
        f"pipeline {team}/{pipeline.name}",
        team_id=pipeline.team_id,
        details={"revision": revision.number, "rollback_of": number},
    )
    return PushResult(_reload(conn, pipeline_id), revision, True)


# ------------------------------------------------------------------ helpers


def _validate(
    text: str, filename: str, policy: Policy | None = None
) -> tuple[list[Diagnostic], str, str | None, str]:
    """(warnings, name, board, the board's line:col) of a valid spec; SpecInvalid otherwise.

    ``policy``: the team's allow-list (RL601), on the file and on its plan with the default params."""
    from reefline.services.plan_check import check_plan
    from reefline.services.policy_check import plan_denials
    from reefline.spec import load_spec
    from reefline.spec.yaml_source import diagnostic_at

    loaded = load_spec(text, filename, policy)
    plan, plan_diagnostics = check_plan(loaded, filename)
    if plan is not None and policy is not None:
        plan_diagnostics += plan_denials(plan, policy, loaded.source, filename)
    diagnostics = [*loaded.diagnostics, *plan_diagnostics]
    if loaded.pipeline is None or has_errors(diagnostics):
        raise SpecInvalid(diagnostics)
    name = loaded.pipeline.name
    if not PIPELINE_NAME.fullmatch(name):
        raise SpecInvalid(
            [
                diagnostic_at(
                    loaded.source.locate(("name",)),
                    code="RL106",
                    message=f"{name!r} cannot name a pipeline on a server",
                    hint="use 1 to 200 characters without '/' or control characters, not starting or "
                    "ending with a space",
                    file=filename,
                    path=("name",),
                ),
                *diagnostics,
            ]
        )
    span = loaded.source.locate(("board",))
    warnings = [d for d in diagnostics if d.severity == Severity.WARNING]
    return warnings, name, loaded.pipeline.board, f"{span.line}:{span.col}"


def _storable(number: int) -> bool:
    """Whether an id or number given by a caller can be in the database (SQLite refuses bigger ints)."""
    return 0 < number < 2**63


def _check_message(message: str | None) -> None:
    if message is not None and len(message) > MAX_MESSAGE:
        raise Invalid(f"a revision message has at most {MAX_MESSAGE} characters ({len(message)} given)")


def _same(revision: RevisionRow, spec_sha256: str, source: SourceRef | None) -> bool:
    return revision.spec_hash == spec_sha256 and revision.source_sha256 == (source.sha256 if source else None)


def _lines(text: str) -> list[str]:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines


def _reload(conn: Connection, pipeline_id: int) -> PipelineRow:
    return get_pipeline_by_id(conn, pipeline_id)


def _team_name(conn: Connection, team_id: int) -> str:
    name = conn.execute(select(teams.c.name).where(teams.c.id == team_id)).scalar()
    return str(name) if name is not None else f"team {team_id}"


def _board_names(conn: Connection, team_id: int) -> str:
    names = [b.name for b in repo.list_boards(conn, team_id)]
    if not names:
        return "this team has no boards yet"
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    return f"boards: {shown}"
