"""API tokens: shown once, stored hashed, resolved, expiring, revocable, refused when garbage."""

from __future__ import annotations

import dataclasses
import re

import pytest
from sqlalchemy import Engine, select

from reefline.services import accounts, audit, credentials
from reefline.services.audit import Actor
from reefline.services.types import Conflict, Forbidden, Invalid, NotFound, Unauthenticated
from reefline.store import repo_accounts
from reefline.store.repo_accounts import TokenRow
from reefline.store.tables import api_tokens, audit_log

SYSTEM = Actor.system()
T0 = 1_800_000_000.0


@pytest.fixture
def alice(store_engine: Engine) -> int:
    with store_engine.begin() as conn:
        return accounts.create_user(conn, SYSTEM, "alice").id


def new_token(engine: Engine, user_id: int, name: str = "ci", **kwargs: object) -> tuple[TokenRow, str]:
    with engine.begin() as conn:
        return accounts.create_token(conn, SYSTEM, user_id, name, now=T0, **kwargs)  # type: ignore[arg-type]


def resolve(engine: Engine, clear: str | None, now: float = T0) -> int:
    with engine.begin() as conn:
        return accounts.resolve_token(conn, clear, now=now).user_id


def test_a_token_is_shown_once_stored_as_sha256_and_resolves_to_its_user(
    store_engine: Engine, alice: int
) -> None:
    row, clear = new_token(store_engine, alice)
    assert re.fullmatch(r"rl_[0-9a-f]{8}_[A-Za-z0-9_-]{32,}", clear)
    assert clear.startswith(f"rl_{row.prefix}_")
    assert (row.user_id, row.name, row.expires_at, row.revoked_at, row.last_used_at) == (
        alice,
        "ci",
        None,
        None,
        None,
    )
    assert "hash" not in {f.name for f in dataclasses.fields(TokenRow)}
    with store_engine.connect() as conn:
        stored = conn.execute(select(api_tokens)).one()
        logged = conn.execute(select(audit_log)).all()
    secret = clear.split("_", 2)[2]
    assert secret not in repr(tuple(stored)) and secret not in repr(logged)
    assert stored.token_hash == credentials.sha256_hex(secret)
    assert resolve(store_engine, clear) == alice
    assert resolve(store_engine, f"  {clear}\n") == alice  # pasted with a newline


def test_last_used_at_is_written_at_most_once_a_minute(store_engine: Engine, alice: int) -> None:
    _, clear = new_token(store_engine, alice)

    def last_used() -> float | None:
        with store_engine.connect() as conn:
            return accounts.list_tokens(conn, alice)[0].last_used_at

    resolve(store_engine, clear, now=T0 + 10)
    assert last_used() == T0 + 10
    resolve(store_engine, clear, now=T0 + 69)
    assert last_used() == T0 + 10
    resolve(store_engine, clear, now=T0 + 70)
    assert last_used() == T0 + 70


def test_an_expired_token_is_refused_with_the_day_it_expired(store_engine: Engine, alice: int) -> None:
    row, clear = new_token(store_engine, alice, expires_in_days=1)
    assert row.expires_at == T0 + 86400
    assert resolve(store_engine, clear, now=T0 + 86399) == alice
    with pytest.raises(Unauthenticated, match=r"the API token 'ci' expired on 2027-01-1\d: create a new one"):
        resolve(store_engine, clear, now=T0 + 86400)


@pytest.mark.parametrize("days", [0, -1, 3651, True, 1.5])
def test_expiry_must_be_a_sensible_number_of_days(store_engine: Engine, alice: int, days: object) -> None:
    with pytest.raises(Invalid, match="1 to 3650 days"):
        new_token(store_engine, alice, expires_in_days=days)


def test_a_revoked_token_is_refused_and_revoking_twice_changes_nothing(
    store_engine: Engine, alice: int
) -> None:
    row, clear = new_token(store_engine, alice)
    with store_engine.begin() as conn:
        revoked = accounts.revoke_token(conn, Actor(alice, "10.0.0.1"), alice, row.id, now=T0 + 5)
        again = accounts.revoke_token(conn, Actor(alice), alice, row.id, now=T0 + 9)
    assert revoked.revoked_at == again.revoked_at == T0 + 5
    with pytest.raises(Unauthenticated, match="the API token 'ci' was revoked"):
        resolve(store_engine, clear)
    with store_engine.connect() as conn:
        entries = [(e.action, e.target, e.user_id) for e in audit.entries(conn, team_id=None)]
        details = audit.entries(conn, team_id=None)[0].details
    assert entries[:2] == [
        ("token.revoke", "token ci of user alice", alice),
        ("token.create", "token ci of user alice", None),
    ]
    assert details == {"token_id": row.id, "prefix": row.prefix}
    # The name is free again once the old token is revoked.
    assert new_token(store_engine, alice)[0].name == "ci"


def test_tokens_are_personal(store_engine: Engine, alice: int) -> None:
    with store_engine.begin() as conn:
        bob = accounts.create_user(conn, SYSTEM, "bob").id
        root = accounts.create_user(conn, SYSTEM, "root", is_admin=True).id
    row, _ = new_token(store_engine, alice)
    with store_engine.begin() as conn:
        with pytest.raises(Forbidden, match="only your own API tokens"):
            accounts.create_token(conn, Actor(bob), alice, "sneaky")
        with pytest.raises(Forbidden, match="only your own API tokens"):
            accounts.revoke_token(conn, Actor(bob), alice, row.id)
        with pytest.raises(NotFound, match=f"no token {row.id} for this user"):
            accounts.revoke_token(conn, Actor(bob), bob, row.id)
        _, mine = accounts.create_token(conn, Actor(bob), bob, "laptop")
        accounts.revoke_token(conn, Actor(root), alice, row.id)  # a site admin may
        assert [t.name for t in accounts.list_tokens(conn, bob)] == ["laptop"]
        assert accounts.resolve_token(conn, mine).username == "bob"


def test_a_live_token_name_is_unique_per_user(store_engine: Engine, alice: int) -> None:
    new_token(store_engine, alice, "ci")
    with pytest.raises(Conflict, match="alice has a token named 'ci' already"):
        new_token(store_engine, alice, "ci")
    for bad in ("", "   ", "x" * 101, "tab\there"):
        with pytest.raises(Invalid, match="a token name is 1 to 100 printable characters"):
            new_token(store_engine, alice, bad)


def test_garbage_and_tampered_tokens_are_refused(store_engine: Engine, alice: int) -> None:
    row, clear = new_token(store_engine, alice)
    other_prefix = "0" * 8 if row.prefix != "0" * 8 else "1" * 8
    tampered_prefix = f"rl_{other_prefix}_{clear.split('_', 2)[2]}"
    tampered_secret = clear[:-1] + ("A" if clear[-1] != "A" else "B")
    for garbage in (None, "", "Bearer " + clear, "rl_", "rl_zzzzzzzz_" + "a" * 43, "x" * 10_000, "\x00"):
        with pytest.raises(Unauthenticated, match="not a Reefline API token"):
            resolve(store_engine, garbage)
    for unknown in (tampered_prefix, tampered_secret):
        with pytest.raises(Unauthenticated, match="unknown API token"):
            resolve(store_engine, unknown)


def test_a_token_for_an_unknown_or_deactivated_user_cannot_be_made(store_engine: Engine, alice: int) -> None:
    with store_engine.begin() as conn, pytest.raises(NotFound, match="no user with id 999"):
        accounts.create_token(conn, SYSTEM, 999, "ci")
    with store_engine.begin() as conn:
        accounts.deactivate_user(conn, SYSTEM, alice)
    with pytest.raises(Invalid, match="alice is deactivated"):
        new_token(store_engine, alice)


def test_noting_the_last_use_keeps_the_request_a_reader_and_outlives_its_rollback(
    store_engine: Engine, alice: int
) -> None:
    row, clear = new_token(store_engine, alice)
    with store_engine.connect() as conn:
        with conn.begin():
            accounts.resolve_token(conn, clear, now=T0 + 100)
            # Another writer touching the same row is not held up by this still open request.
            with store_engine.begin() as other:
                if other.dialect.name == "postgresql":
                    other.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
                repo_accounts.update_token(other, row.id, revoked_at=None)
            conn.rollback()
        assert accounts.list_tokens(conn, alice)[0].last_used_at == T0 + 100
