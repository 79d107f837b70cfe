"""Boards, pipelines and revisions on SQLite and PostgreSQL: push, identical push, diff, rollback."""

from __future__ import annotations

import time
from textwrap import dedent

import pytest
from sqlalchemy import Connection, Engine, select

from reefline.services import audit
from reefline.services import pipelines as svc
from reefline.services.audit import Actor
from reefline.services.source_bundle import SourceRef
from reefline.services.types import Conflict, Invalid, NotFound, SpecInvalid
from reefline.store import repo_pipelines
from reefline.store.tables import audit_log, pipelines, teams, users


def spec(name: str = "iris", *, board: str | None = "research", echo: str = "hello") -> str:
    board_line = f"board: {board}\n" if board else ""
    return dedent(
        f"""\
        version: 1
        name: {name}
        {board_line}jobs:
          greet:
            script: echo {echo}
        """
    ).replace("        ", "")


def make_team(conn: Connection, name: str = "lab") -> int:
    result = conn.execute(teams.insert().values(name=name, created_at=time.time()))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def make_user(conn: Connection, name: str = "alice") -> Actor:
    result = conn.execute(users.insert().values(username=name, is_admin=False, active=True, created_at=0.0))
    return Actor(int(result.inserted_primary_key[0]), "127.0.0.1")  # type: ignore[index]


def setup_team(conn: Connection, team: str = "lab", board: str = "research") -> tuple[int, int, Actor]:
    team_id = make_team(conn, team)
    actor = make_user(conn, f"{team}-user")
    board_id = svc.create_board(conn, actor, team_id, board, "models").id
    return team_id, board_id, actor


def test_boards_have_unique_valid_names_per_team(store_engine: Engine) -> None:
    with store_engine.begin() as conn:
        team_id, _, actor = setup_team(conn)
        other = make_team(conn, "other")
        svc.create_board(conn, actor, team_id, "prod")
        svc.create_board(conn, actor, other, "research")  # the same name in another team
        with pytest.raises(Conflict, match="board named 'prod' already"):
            svc.create_board(conn, actor, team_id, "prod")
        with pytest.raises(Invalid, match="lowercase"):
            svc.create_board(conn, actor, team_id, "Bad Name")
        assert [b.name for b in svc.list_boards(conn, team_id)] == ["prod", "research"]
        assert svc.get_board(conn, team_id, "research").description == "models"
        with pytest.raises(NotFound):
            svc.get_board(conn, other, "prod")
        actions = [e.action for e in audit.entries(conn, team_id=team_id)]
        assert actions == ["board.create", "board.create"]


def test_push_creates_the_pipeline_then_numbered_revisions(store_engine: Engine) -> None:
    with store_engine.begin() as conn:
        team_id, board_id, actor = setup_team(conn)
        first = svc.push_revision(conn, actor, team_id=team_id, spec_text=spec(), message="first")
        second = svc.push_revision(
            conn, actor, team_id=team_id, spec_text=spec(echo="again"), source=SourceRef("a" * 64, 10)
        )
    assert first.created and first.pipeline_created
    assert (first.revision.number, second.revision.number) == (1, 2)
    assert second.created and not second.pipeline_created
    assert first.pipeline.board_id == board_id and first.pipeline.board_name == "research"
    assert second.pipeline.current_revision == 2
    assert first.revision.author == "lab-user" and first.revision.message == "first"
    assert second.revision.source_sha256 == "a" * 64 and second.revision.source_size == 10
    with store_engine.connect() as conn:
        pipeline = svc.get_pipeline(conn, team_id, "iris")
        assert pipeline.id == first.pipeline.id
        assert [r.number for r in svc.list_revisions(conn, pipeline.id)] == [2, 1]
        assert svc.current_revision(conn, pipeline.id).number == 2
        assert svc.get_revision(conn, pipeline.id, 1).spec_text == spec()
        stored = conn.execute(select(pipelines.c.source_path, pipelines.c.team_id)).one()
        assert tuple(stored) == (f"team:{team_id}", team_id)
        pushes = conn.execute(select(audit_log.c.action, audit_log.c.details)).all()
    assert [p.action for p in pushes] == ["board.create", "pipeline.push", "pipeline.push"]
    assert pushes[1].details["revision"] == 1 and pushes[1].details["created"] is True


def test_an_identical_push_creates_nothing(store_engine: Engine) -> None:
    with store_engine.begin() as conn:
        team_id, _, actor = setup_team(conn)
        source = SourceRef("b" * 64, 5)
        svc.push_revision(conn, actor, team_id=team_id, spec_text=spec(), source=source)
        again = svc.push_revision(conn, actor, team_id=team_id, spec_text=spec(), source=source)
        # No source given: the current revision's source is kept, so the text alone decides.
        text_only = svc.push_revision(conn, actor, team_id=team_id, spec_text=spec())
        new_source = svc.push_revision(
            conn, actor, team_id=team_id, spec_text=spec(), source=SourceRef("c" * 64, 5)
        )
        pushes = [e for e in audit.entries(conn, team_id=team_id) if e.action == "pipeline.push"]
    assert not again.created and again.revision.number == 1
    assert not text_only.created and text_only.revision.number == 1
    assert new_source.created and new_source.revision.number == 2
    assert len(pushes) == 2


def test_an_invalid_push_is_refused_with_positioned_diagnostics(store_engine: Engine) -> None:
    bad = spec().replace("script: echo hello", "script: echo hello\n    needs: [nope]")
    with store_engine.begin() as conn:
        team_id, _, actor = setup_team(conn)
        with pytest.raises(SpecInvalid) as caught:
            svc.push_revision(conn, actor, team_id=team_id, spec_text=bad, filename="pipe.yaml")
        assert svc.list_pipelines(conn, team_id) == []
    lines = [d.format() for d in caught.value.diagnostics]
    assert any(line.startswith("pipe.yaml:7:13: error:") and "[RL201]" in line for line in lines), lines


def test_a_new_pipeline_needs_a_known_board(store_engine: Engine) -> None:
    with store_engine.begin() as conn:
        team_id, board_id, actor = setup_team(conn)
        with pytest.raises(Invalid, match=r"pipeline 'iris' is new: say which board.*boards: research"):
            svc.push_revision(conn, actor, team_id=team_id, spec_text=spec(board=None))
        with pytest.raises(Invalid, match=r"reefline.yaml:3:8: `board: nowhere` names no board"):
            svc.push_revision(conn, actor, team_id=team_id, spec_text=spec(board="nowhere"))
        other = make_team(conn, "other")
        foreign = svc.create_board(conn, actor, other, "theirs").id
        with pytest.raises(NotFound):
            svc.push_revision(conn, actor, team_id=team_id, spec_text=spec(board=None), board_id=foreign)
        pushed = svc.push_revision(
            conn, actor, team_id=team_id, spec_text=spec(board=None), board_id=board_id
        )
        assert pushed.pipeline.board_name == "research"
        # Later pushes need no board; one given moves the pipeline.
        svc.push_revision(conn, actor, team_id=team_id, spec_text=spec(board=None, echo="2"))
        prod = svc.create_board(conn, actor, team_id, "prod").id
        moved = svc.push_revision(conn, actor, team_id=team_id, spec_text=spec(board="prod", echo="3"))
        assert moved.pipeline.board_id == prod
        assert [p.name for p in svc.list_pipelines(conn, team_id, board_id=prod)] == ["iris"]
        assert svc.list_pipelines(conn, team_id, board_id=board_id) == []
        with pytest.raises(Invalid, match="at most 10000 characters"):
            svc.push_revision(conn, actor, team_id=team_id, spec_text=spec(echo="4"), message="m" * 10_001)


def test_names_are_unique_per_team_but_two_teams_may_share_one(store_engine: Engine) -> None:
    with store_engine.begin() as conn:
        lab, _, alice = setup_team(conn, "lab")
        ops, _, bob = setup_team(conn, "ops")
        a = svc.push_revision(conn, alice, team_id=lab, spec_text=spec(echo="lab"))
        b = svc.push_revision(conn, bob, team_id=ops, spec_text=spec(echo="ops"))
        again = svc.push_revision(conn, alice, team_id=lab, spec_text=spec(echo="lab 2"))
        assert a.pipeline.id != b.pipeline.id
        assert again.pipeline.id == a.pipeline.id and again.revision.number == 2
        assert b.revision.number == 1
        assert [p.name for p in svc.list_pipelines(conn, ops)] == ["iris"]
        assert svc.get_pipeline(conn, ops, "iris").id == b.pipeline.id
        with pytest.raises(NotFound):
            svc.get_pipeline_by_id(conn, a.pipeline.id, team_id=ops)


def test_diff_shows_the_change_between_two_revisions(store_engine: Engine) -> None:
    with store_engine.begin() as conn:
        team_id, _, actor = setup_team(conn)
        pid = svc.push_revision(conn, actor, team_id=team_id, spec_text=spec()).pipeline.id
        svc.push_revision(conn, actor, team_id=team_id, spec_text=spec(echo="world"))
        diff = svc.diff_revisions(conn, pid, 1, 2)
        assert svc.diff_revisions(conn, pid, 2, 2) == ""
        with pytest.raises(NotFound, match="revisions are 1 to 2"):
            svc.diff_revisions(conn, pid, 1, 9)
        for number in (0, -1, 2**64):  # whatever an API client sends: never a database error
            with pytest.raises(NotFound):
                svc.get_revision(conn, pid, number)
            with pytest.raises(NotFound):
                svc.get_pipeline_by_id(conn, number)
            with pytest.raises(NotFound):
                svc.get_board_by_id(conn, team_id, number)
    assert diff.splitlines()[:2] == ["--- rev 1", "+++ rev 2"]
    assert "-    script: echo hello" in diff.splitlines()
    assert "+    script: echo world" in diff.splitlines()


def test_rollback_makes_a_new_revision_equal_to_the_old_one(store_engine: Engine) -> None:
    with store_engine.begin() as conn:
        team_id, _, actor = setup_team(conn)
        one = svc.push_revision(conn, actor, team_id=team_id, spec_text=spec(), source=SourceRef("d" * 64, 3))
        svc.push_revision(
            conn, actor, team_id=team_id, spec_text=spec(echo="two"), source=SourceRef("e" * 64, 4)
        )
        back = svc.rollback(conn, actor, one.pipeline.id, 1)
        again = svc.rollback(conn, actor, one.pipeline.id, 1)
        entry = audit.entries(conn, team_id=team_id)[0]
    assert back.created and back.revision.number == 3
    assert back.revision.rollback_of == 1 and back.revision.message == "rollback to revision 1"
    assert back.revision.spec_text == one.revision.spec_text
    assert back.revision.spec_hash == one.revision.spec_hash
    assert (back.revision.source_sha256, back.revision.source_size) == ("d" * 64, 3)
    assert back.pipeline.current_revision == 3
    assert not again.created and again.revision.number == 3
    assert entry.action == "pipeline.rollback" and entry.details == {"revision": 3, "rollback_of": 1}
    assert svc.diff_revisions  # the diff of 1 and 3 is empty
    with store_engine.connect() as conn:
        assert svc.diff_revisions(conn, one.pipeline.id, 1, 3) == ""


def test_a_laptop_run_records_a_revision_per_distinct_spec_text(store_engine: Engine) -> None:
    from reefline.store import repo

    with store_engine.begin() as conn:
        pid = repo.get_or_create_pipeline(conn, "iris", "/work/p/reefline.yaml", time.time())
        first = repo_pipelines.record_laptop_revision(conn, pid, spec())
        same = repo_pipelines.record_laptop_revision(conn, pid, spec())
        changed = repo_pipelines.record_laptop_revision(conn, pid, spec(echo="x"))
        revisions = svc.list_revisions(conn, pid)
    assert first == same != changed
    assert [(r.number, r.author_id) for r in revisions] == [(2, None), (1, None)]


def test_a_server_pipeline_name_cannot_hold_a_slash(store_engine: Engine) -> None:
    with store_engine.begin() as conn:
        team_id, _, actor = setup_team(conn)
        with pytest.raises(SpecInvalid) as caught:
            svc.push_revision(conn, actor, team_id=team_id, spec_text=spec(name="a/b"))
    first = caught.value.diagnostics[0]
    assert (first.code, first.line, first.col) == ("RL106", 2, 7)


def test_two_pushes_at_once_get_revisions_one_after_the_other(store_engine: Engine) -> None:
    import threading

    with store_engine.begin() as conn:
        team_id, _, actor = setup_team(conn)
    barrier = threading.Barrier(3)
    results: list[svc.PushResult] = []
    errors: list[BaseException] = []

    def push(echo: str) -> None:
        barrier.wait()
        try:
            with store_engine.begin() as conn:
                results.append(svc.push_revision(conn, actor, team_id=team_id, spec_text=spec(echo=echo)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=push, args=(f"n{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(r.revision.number for r in results) == [1, 2, 3]
    assert sum(r.pipeline_created for r in results) == 1
    with store_engine.connect() as conn:
        assert len(svc.list_pipelines(conn, team_id)) == 1
