"""Users: creating them (names, passwords, duplicates), passwords, deactivation, and their audit."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Connection, Engine, select

from reefline.services import accounts, audit
from reefline.services.audit import Actor
from reefline.services.types import Conflict, Forbidden, Invalid, NotFound, Unauthenticated
from reefline.store.tables import users

SYSTEM = Actor.system()
PASSWORD = "correct horse battery"


def actions(conn: Connection) -> list[tuple[str, str, int | None]]:
    """The audit log, oldest first: (action, target, user id)."""
    return [(e.action, e.target, e.user_id) for e in reversed(audit.entries(conn, team_id=None))]


def test_create_user_stores_an_argon2_hash_and_audits_without_the_password(store_engine: Engine) -> None:
    with store_engine.begin() as conn:
        alice = accounts.create_user(
            conn, SYSTEM, "alice", password=PASSWORD, is_admin=True, display_name=" Alice A. ", now=100.0
        )
    assert (alice.username, alice.display_name, alice.is_admin, alice.active) == (
        "alice",
        "Alice A.",
        True,
        True,
    )
    assert alice.has_password and alice.created_at == 100.0
    with store_engine.begin() as conn:
        stored = conn.execute(select(users.c.password_hash)).scalar_one()
        entries = audit.entries(conn, team_id=None)
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert [(e.action, e.target, e.user_id, e.details) for e in entries] == [
        ("user.create", "user alice", None, {"is_admin": True, "password": True})
    ]
    assert PASSWORD not in repr(entries)


def test_a_user_without_a_password_cannot_sign_in_with_one(store_engine: Engine) -> None:
    with store_engine.begin() as conn:
        bot = accounts.create_user(conn, SYSTEM, "ci-bot")
    assert not bot.has_password
    with store_engine.connect() as conn, pytest.raises(Unauthenticated, match="wrong username or password"):
        accounts.authenticate(conn, "ci-bot", "", None)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "a user name cannot be empty"),
        ("Alice", "has capital letters: use 'alice'"),
        ("-alice", "must start with a lowercase letter or a digit"),
        ("al ice", "may hold only lowercase letters, digits, '.', '_' and '-' (not ' ')"),
        ("al/ice", "(not '/')"),
        ("a" * 64, "is too long (64 characters, at most 63)"),
    ],
)
def test_usernames_are_checked_with_a_message_saying_what_to_change(
    store_engine: Engine, name: str, message: str
) -> None:
    with store_engine.begin() as conn, pytest.raises(Invalid) as error:
        accounts.create_user(conn, SYSTEM, name)
    assert message in str(error.value)
    assert error.value.details == {"field": "user"}


def test_usernames_that_fit_the_rule() -> None:
    for name in ("a", "alice", "a.b_c-d", "0day", "x" * 63):
        assert accounts.check_name("user", name) == name


def test_a_duplicate_username_is_a_conflict(store_engine: Engine) -> None:
    with store_engine.begin() as conn:
        accounts.create_user(conn, SYSTEM, "alice")
    with store_engine.begin() as conn, pytest.raises(Conflict, match="a user named alice exists already"):
        accounts.create_user(conn, SYSTEM, "alice")


def test_passwords_need_eight_characters(store_engine: Engine) -> None:
    with store_engine.begin() as conn, pytest.raises(Invalid, match="at least 8 characters"):
        accounts.create_user(conn, SYSTEM, "alice", password="1234567")
    with store_engine.begin() as conn, pytest.raises(Invalid, match="at most 1024"):
        accounts.create_user(conn, SYSTEM, "alice", password="x" * 1025)


def test_only_a_site_admin_creates_users(store_engine: Engine) -> None:
    with store_engine.begin() as conn:
        root = accounts.create_user(conn, SYSTEM, "root", is_admin=True)
        bob = accounts.create_user(conn, SYSTEM, "bob")
    with store_engine.begin() as conn:
        # An Actor of a user is checked like that user's principal: no way round authorization.
        for caller in (accounts.load_principal(conn, bob.id), Actor(bob.id, "10.0.0.2")):
            with pytest.raises(Forbidden, match="only a site admin may create users"):
                accounts.create_user(conn, caller, "carol")
        accounts.create_user(conn, Actor(root.id, "10.0.0.1"), "carol")
        entry = audit.entries(conn, team_id=None)[0]
    assert (entry.action, entry.user_id, entry.remote) == ("user.create", root.id, "10.0.0.1")


def test_set_password_by_the_user_needs_the_current_one_and_ends_their_sessions(store_engine: Engine) -> None:
    with store_engine.begin() as conn:
        alice = accounts.create_user(conn, SYSTEM, "alice", password=PASSWORD)
        bob = accounts.create_user(conn, SYSTEM, "bob", password=PASSWORD)
        cookie, _ = accounts.create_session(conn, alice.id, None)
        me = accounts.load_principal(conn, alice.id)
    with store_engine.begin() as conn, pytest.raises(Forbidden, match="the current password is wrong"):
        accounts.set_password(conn, me, alice.id, "new password 1", current_password="wrong one")
    with store_engine.begin() as conn, pytest.raises(Forbidden, match="another user's password"):
        accounts.set_password(conn, me, bob.id, "new password 1", current_password=PASSWORD)
    with store_engine.begin() as conn:
        accounts.set_password(conn, me, alice.id, "new password 1", current_password=PASSWORD)
    with store_engine.begin() as conn:
        assert accounts.authenticate(conn, "alice", "new password 1", None).user_id == alice.id
        with pytest.raises(Unauthenticated):
            accounts.resolve_session(conn, cookie)
    with store_engine.begin() as conn, pytest.raises(Unauthenticated):
        accounts.authenticate(conn, "alice", PASSWORD, None)
    with store_engine.begin() as conn:
        assert ("user.password", "user alice", alice.id) in actions(conn)


def test_a_site_admin_sets_any_password_without_the_current_one(store_engine: Engine) -> None:
    with store_engine.begin() as conn:
        root = accounts.create_user(conn, SYSTEM, "root", is_admin=True)
        bob = accounts.create_user(conn, SYSTEM, "bob")
        accounts.set_password(conn, Actor(root.id), bob.id, "bobs new password")
        with pytest.raises(NotFound, match="no user with id 999"):
            accounts.set_password(conn, Actor(root.id), 999, "whatever password")
    with store_engine.begin() as conn:
        assert accounts.authenticate(conn, "bob", "bobs new password", None).username == "bob"
        assert accounts.get_user(conn, bob.id).has_password


def test_a_deactivated_user_can_no_longer_sign_in_or_use_a_token_or_session(store_engine: Engine) -> None:
    with store_engine.begin() as conn:
        root = accounts.create_user(conn, SYSTEM, "root", is_admin=True)
        bob = accounts.create_user(conn, SYSTEM, "bob", password=PASSWORD)
        _, token = accounts.create_token(conn, SYSTEM, bob.id, "ci")
        cookie, _ = accounts.create_session(conn, bob.id, None)
    admin = Actor(root.id)
    with store_engine.begin() as conn:
        with pytest.raises(Forbidden, match="only a site admin may deactivate users"):
            accounts.deactivate_user(conn, Actor(bob.id), root.id)
        with pytest.raises(Conflict, match="your own account"):
            accounts.deactivate_user(conn, admin, root.id)
        assert not accounts.deactivate_user(conn, admin, bob.id).active
        assert not accounts.deactivate_user(conn, admin, bob.id).active  # again: no change, no entry
    with store_engine.begin() as conn:
        with pytest.raises(Unauthenticated, match="deactivated"):
            accounts.authenticate(conn, "bob", PASSWORD, None)
        with pytest.raises(Unauthenticated):
            accounts.resolve_token(conn, token)
        with pytest.raises(Unauthenticated):
            accounts.resolve_session(conn, cookie)
        with pytest.raises(Unauthenticated):
            accounts.load_principal(conn, bob.id)
        assert [a for a in actions(conn) if a[0] == "user.deactivate"] == [
            ("user.deactivate", "user bob", root.id)
        ]


def test_get_find_and_list_users(store_engine: Engine) -> None:
    with store_engine.begin() as conn:
        for name in ("carol", "alice", "bob"):
            accounts.create_user(conn, SYSTEM, name)
        assert [u.username for u in accounts.list_users(conn)] == ["alice", "bob", "carol"]
        assert accounts.find_user(conn, "bob").username == "bob"
        with pytest.raises(NotFound, match="no user named dave"):
            accounts.find_user(conn, "dave")


@pytest.mark.timeout(60)
def test_two_requests_creating_the_same_user_at_once_get_one_user_and_a_conflict(
    store_engine: Engine,
) -> None:
    errors: list[Exception] = []
    first = store_engine.connect()
    first.begin()
    accounts.create_user(first, SYSTEM, "alice")

    def second() -> None:
        try:
            with store_engine.begin() as conn:
                accounts.create_user(conn, SYSTEM, "alice")
        except Exception as exc:
            errors.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(0.5)  # its check found no alice (not committed yet); its insert waits
    first.commit()
    first.close()
    thread.join(30)
    assert len(errors) == 1 and isinstance(errors[0], Conflict), errors
    assert str(errors[0]) == "a user named alice exists already"
    with store_engine.connect() as conn:
        assert [u.username for u in accounts.list_users(conn)] == ["alice"]
