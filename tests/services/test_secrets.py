"""Secrets on SQLite and PostgreSQL: encrypted at rest, write-only listing, scope precedence, the key."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, String, Text, select

from reefline.services import audit
from reefline.services import pipelines as pipeline_svc
from reefline.services.home import ServerHome
from reefline.services.secret_box import SecretBox, SecretKeyError
from reefline.services.secrets import delete_secret, list_secrets, secrets_for_run, set_secret
from reefline.services.types import Invalid, NotFound
from reefline.store.tables import metadata, secrets
from tests.services.test_pipelines import make_team, setup_team, spec

VALUE = "s3cr3t-value-that-must-not-leak"


@pytest.fixture
def box() -> SecretBox:
    return SecretBox([Fernet.generate_key()], "a test key")


def all_text(engine: Engine) -> str:
    """Every text column of every table, as stored."""
    parts: list[str] = []
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            columns = [
                c
                for c in table.c
                if isinstance(c.type, String | Text) or c.type.__class__.__name__.startswith("Safe")
            ]
            columns += [c for c in table.c if c.type.__class__.__name__ == "JSON"]
            if columns:
                for row in conn.execute(select(*columns)):
                    parts.extend(str(v) for v in row if v is not None)
    return "\n".join(parts)


def test_a_secret_is_encrypted_at_rest_and_listed_without_its_value(
    store_engine: Engine, box: SecretBox
) -> None:
    with store_engine.begin() as conn:
        team_id, _, actor = setup_team(conn)
        row = set_secret(conn, box, actor, team_id=team_id, name="API_TOKEN", value=VALUE)
    assert row.scope == "team" and row.updated_by_name == "lab-user"
    stored = all_text(store_engine)
    assert VALUE not in stored
    assert "API_TOKEN" in stored
    with store_engine.connect() as conn:
        ciphertext = conn.execute(select(secrets.c.ciphertext)).scalar_one()
        listed = list_secrets(conn, team_id)
        entries = audit.entries(conn, team_id=team_id)
    assert box.decrypt(ciphertext) == VALUE
    assert [(s.name, s.scope) for s in listed] == [("API_TOKEN", "team")]
    assert not any(VALUE in repr(s) for s in listed)
    assert entries[0].action == "secret.write" and entries[0].target == "secret API_TOKEN of the team"
    assert VALUE not in repr(entries)


def test_setting_again_replaces_the_value(store_engine: Engine, box: SecretBox) -> None:
    with store_engine.begin() as conn:
        team_id, _, actor = setup_team(conn)
        pid = pipeline_svc.push_revision(conn, actor, team_id=team_id, spec_text=spec()).pipeline.id
        set_secret(conn, box, actor, team_id=team_id, name="TOKEN", value="first-value")
        set_secret(conn, box, actor, team_id=team_id, name="TOKEN", value="second-value")
        assert len(list_secrets(conn, team_id)) == 1
        assert secrets_for_run(conn, box, pid) == {"TOKEN": "second-value"}
        details = [e.details for e in audit.entries(conn, team_id=team_id) if e.action == "secret.write"]
    assert details == [{"created": False}, {"created": True}]


def test_a_run_gets_the_pipeline_secret_over_the_board_one_over_the_team_one(
    store_engine: Engine, box: SecretBox
) -> None:
    with store_engine.begin() as conn:
        team_id, board_id, actor = setup_team(conn)
        pid = pipeline_svc.push_revision(conn, actor, team_id=team_id, spec_text=spec()).pipeline.id
        other = pipeline_svc.push_revision(
            conn, actor, team_id=team_id, spec_text=spec(name="other")
        ).pipeline.id
        set_secret(conn, box, actor, team_id=team_id, name="A", value="team-a")
        set_secret(conn, box, actor, team_id=team_id, name="B", value="team-b")
        set_secret(conn, box, actor, team_id=team_id, name="C", value="team-c")
        set_secret(conn, box, actor, team_id=team_id, name="B", value="board-b", board_id=board_id)
        set_secret(conn, box, actor, team_id=team_id, name="C", value="board-c", board_id=board_id)
        set_secret(conn, box, actor, team_id=team_id, name="C", value="pipe-c", pipeline_id=pid)
        foreign_team = make_team(conn, "foreign")
        set_secret(conn, box, actor, team_id=foreign_team, name="A", value="foreign")
        assert secrets_for_run(conn, box, pid) == {"A": "team-a", "B": "board-b", "C": "pipe-c"}
        assert secrets_for_run(conn, box, other) == {"A": "team-a", "B": "board-b", "C": "board-c"}
        scopes = [(s.name, s.scope) for s in list_secrets(conn, team_id)]
        assert scopes == [
            ("A", "team"),
            ("B", "team"),
            ("C", "team"),
            ("B", "board"),
            ("C", "board"),
            ("C", "pipeline"),
        ]
        assert [s.name for s in list_secrets(conn, team_id, pipeline_id=pid)] == ["C"]
        assert [s.board_name for s in list_secrets(conn, team_id, board_id=board_id)] == [
            "research",
            "research",
        ]
        delete_secret(conn, actor, team_id=team_id, name="C", pipeline_id=pid)
        assert secrets_for_run(conn, box, pid)["C"] == "board-c"
        with pytest.raises(NotFound, match="no secret C of pipeline iris"):
            delete_secret(conn, actor, team_id=team_id, name="C", pipeline_id=pid)


def test_bad_names_values_and_scopes_are_refused(store_engine: Engine, box: SecretBox) -> None:
    with store_engine.begin() as conn:
        team_id, board_id, actor = setup_team(conn)
        other_team, other_board, _ = setup_team(conn, "other")
        pid = pipeline_svc.push_revision(conn, actor, team_id=team_id, spec_text=spec()).pipeline.id

        def put(name: str = "OK", value: str = "value", **scope: int) -> None:
            set_secret(conn, box, actor, team_id=team_id, name=name, value=value, **scope)

        with pytest.raises(Invalid, match="uppercase letters"):
            put("lower")
        with pytest.raises(Invalid, match="uppercase letters"):
            put("1ABC")
        with pytest.raises(Invalid, match="reserved"):
            put("REEFLINE_SECRET_KEY")
        with pytest.raises(Invalid, match="reserved"):
            put("PATH")
        with pytest.raises(Invalid, match="at most 65536"):
            put(value="x" * (64 * 1024 + 1))
        with pytest.raises(Invalid, match="needs a value"):
            put(value="")
        with pytest.raises(Invalid, match="NUL"):
            put(value="a\0b")
        with pytest.raises(Invalid, match="lone surrogate"):
            put(value="abc\udc80")
        with pytest.raises(Invalid, match="not both"):
            put(board_id=board_id, pipeline_id=pid)
        with pytest.raises(NotFound):
            put(board_id=other_board)
        put("X" * 128, value="x" * (64 * 1024))  # the limits themselves are fine
        assert other_team != team_id


def test_a_key_file_is_created_0600_on_first_use_and_reused(tmp_path: Path) -> None:
    home = ServerHome(tmp_path / "home")
    first = SecretBox.from_env(home, env={})
    mode = stat.S_IMODE(home.secret_key_file.stat().st_mode)
    assert mode == 0o600
    token = first.encrypt(VALUE)
    again = SecretBox.from_env(home, env={})
    assert again.decrypt(token) == VALUE
    assert list(home.root.iterdir()) == [home.secret_key_file]  # no temporary file left


def _make_box(home_root: str, queue: multiprocessing.Queue[str]) -> None:
    box = SecretBox.from_env(ServerHome(Path(home_root)), env={})
    queue.put(box.encrypt("same key?"))


def test_two_processes_starting_at_once_agree_on_the_key(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[str] = ctx.Queue()
    procs = [ctx.Process(target=_make_box, args=(str(tmp_path / "home"), queue)) for _ in range(4)]
    for p in procs:
        p.start()
    tokens = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(60)
    box = SecretBox.from_env(ServerHome(tmp_path / "home"), env={})
    assert {box.decrypt(t) for t in tokens} == {"same key?"}


def test_the_key_from_the_environment_or_a_file_wins(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    home = ServerHome(tmp_path / "home")
    token = SecretBox.from_env(home, env={"REEFLINE_SECRET_KEY": key}).encrypt(VALUE)
    key_file = tmp_path / "key"
    key_file.write_text(f"{Fernet.generate_key().decode()}\n{key}\n")  # rotated: the old key still decrypts
    assert SecretBox.from_env(home, env={"REEFLINE_SECRET_KEY_FILE": str(key_file)}).decrypt(token) == VALUE
    assert not home.secret_key_file.exists()


def test_a_wrong_or_corrupt_key_is_a_clear_error(tmp_path: Path) -> None:
    home = ServerHome(tmp_path / "home")
    token = SecretBox.from_env(home, env={}).encrypt(VALUE)
    other = SecretBox.from_env(home, env={"REEFLINE_SECRET_KEY": Fernet.generate_key().decode()})
    with pytest.raises(
        SecretKeyError, match="cannot decrypt the team secret X with the key from \\$REEFLINE_SECRET_KEY"
    ):
        other.decrypt(token, "the team secret X")
    with pytest.raises(
        SecretKeyError, match="REEFLINE_SECRET_KEY is not a valid secrets key: it must be a Fernet key"
    ):
        SecretBox.from_env(home, env={"REEFLINE_SECRET_KEY": "not-a-key"})
    home.secret_key_file.write_text("garbage\n")
    with pytest.raises(SecretKeyError, match=r"secret\.key is not a valid secrets key"):
        SecretBox.from_env(home, env={})
    with pytest.raises(SecretKeyError, match="does not exist"):
        SecretBox.from_env(home, env={"REEFLINE_SECRET_KEY_FILE": str(tmp_path / "missing")})
