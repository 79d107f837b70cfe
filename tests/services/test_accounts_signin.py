"""Sign-in: passwords, failures remembered and rate-limited, rehashing, and browser sessions."""

from __future__ import annotations

import threading
import time

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, select

from reefline.services import accounts, audit, credentials
from reefline.services.audit import Actor
from reefline.services.types import RateLimited, Unauthenticated
from reefline.store import repo_accounts
from reefline.store.tables import login_failures, sessions, users

SYSTEM = Actor.system()
PASSWORD = "correct horse battery"
T0 = 1_800_000_000.0


@pytest.fixture
def alice(store_engine: Engine) -> int:
    with store_engine.begin() as conn:
        return accounts.create_user(conn, SYSTEM, "alice", password=PASSWORD).id


def sign_in(
    engine: Engine, username: str, password: str, remote: str | None = "10.0.0.1", *, now: float
) -> int:
    """One sign-in in a transaction of its own, as the API does it; the user id on success."""
    with engine.begin() as conn:
        return accounts.authenticate(conn, username, password, remote, now=now).user_id


def test_the_right_password_signs_in(store_engine: Engine, alice: int) -> None:
    with store_engine.begin() as conn:
        principal = accounts.authenticate(conn, "alice", PASSWORD, "10.0.0.1", now=T0)
    assert (principal.user_id, principal.username, principal.remote) == (alice, "alice", "10.0.0.1")
    assert sign_in(store_engine, " Alice ", PASSWORD, now=T0) == alice  # as typed on a phone


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(store_engine: Engine, alice: int) -> None:
    messages = []
    for username, password in (
        ("alice", "wrong password"),
        ("nobody", PASSWORD),
        ("", ""),
        ("alice", "x" * 5000),
    ):
        with pytest.raises(Unauthenticated) as error:
            sign_in(store_engine, username, password, now=T0)
        messages.append(str(error.value))
    assert set(messages) == {"wrong username or password"}


def test_an_unknown_user_takes_about_as_long_as_a_wrong_password(store_engine: Engine, alice: int) -> None:
    def seconds(username: str) -> float:
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            with pytest.raises(Unauthenticated):
                sign_in(store_engine, username, "wrong password", remote=None, now=T0)
            best = min(best, time.perf_counter() - start)
        return best

    known, unknown = seconds("alice"), seconds("nobody")
    # Without the dummy hash an unknown user would answer ~100 times faster (no argon2 at all).
    assert unknown > 0.3 * known


def test_a_failure_is_remembered_although_the_callers_transaction_rolls_back(
    store_engine: Engine, alice: int
) -> None:
    with pytest.raises(Unauthenticated):
        sign_in(store_engine, "alice", "wrong password", now=T0)
    with store_engine.connect() as conn:
        rows = conn.execute(
            select(login_failures.c.username, login_failures.c.remote, login_failures.c.at)
        ).all()
    assert [tuple(r) for r in rows] == [("alice", "10.0.0.1", T0)]


def test_the_sixth_attempt_is_refused_even_with_the_right_password_until_the_window_passes(
    store_engine: Engine, alice: int
) -> None:
    for i in range(5):
        with pytest.raises(Unauthenticated):
            sign_in(store_engine, "alice", "wrong password", now=T0 + i * 60)
    with pytest.raises(RateLimited) as limited:
        sign_in(store_engine, "alice", PASSWORD, now=T0 + 300)
    # The first failure (at T0) leaves the 15-minute window at T0 + 900: 600 seconds from now.
    assert limited.value.details == {"retry_after": 600}
    assert limited.value.code == "rate_limited"
    assert "too many failed sign-ins for alice: try again in 10 minutes" in str(limited.value)
    with pytest.raises(RateLimited) as still:
        sign_in(store_engine, "alice", PASSWORD, now=T0 + 899.5)
    assert still.value.details == {"retry_after": 1}
    # Another user is not locked out by alice's failures.
    with store_engine.begin() as conn:
        accounts.create_user(conn, SYSTEM, "bob", password=PASSWORD)
    sign_in(store_engine, "bob", PASSWORD, now=T0 + 300)
    # Once the oldest failure is out of the window, the right password works again and clears the rest.
    assert sign_in(store_engine, "alice", PASSWORD, now=T0 + 900) == alice
    with store_engine.connect() as conn:
        left = conn.execute(select(login_failures.c.at).where(login_failures.c.username == "alice")).all()
    assert left == []


def test_parallel_guesses_count_at_once(store_engine: Engine, alice: int) -> None:
    """Each attempt is written before its (slow) password check, so ten guesses at the same moment
    cannot all pass the check of the failures so far: at most five get to try a password."""
    start = threading.Barrier(10)
    outcomes: list[type[Exception]] = []

    def guess() -> None:
        start.wait()
        try:
            sign_in(store_engine, "alice", "wrong password", now=T0)
        except (Unauthenticated, RateLimited) as exc:
            outcomes.append(type(exc))

    threads = [threading.Thread(target=guess) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(outcomes) == 10
    assert outcomes.count(Unauthenticated) <= 5
    with store_engine.connect() as conn:
        failures = conn.execute(select(login_failures.c.id)).all()
    assert len(failures) == outcomes.count(Unauthenticated)  # a refused attempt leaves no row


def test_failures_are_counted_per_remote_across_usernames(store_engine: Engine, alice: int) -> None:
    for i in range(20):
        with pytest.raises(Unauthenticated):
            sign_in(store_engine, f"guess{i}", "wrong password", remote="203.0.113.9", now=T0 + i)
    with pytest.raises(RateLimited, match="from your address") as limited:
        sign_in(store_engine, "alice", PASSWORD, remote="203.0.113.9", now=T0 + 30)
    assert limited.value.details == {"retry_after": 870}
    assert sign_in(store_engine, "alice", PASSWORD, remote="198.51.100.1", now=T0 + 30) == alice


def test_old_failures_are_pruned(store_engine: Engine, alice: int) -> None:
    with pytest.raises(Unauthenticated):
        sign_in(store_engine, "someone", "wrong password", now=T0)
    with pytest.raises(Unauthenticated):
        sign_in(store_engine, "alice", "wrong password", now=T0 + 3600)
    with store_engine.connect() as conn:
        assert conn.execute(select(login_failures.c.username)).scalars().all() == ["alice"]


def test_a_hash_with_old_parameters_is_rehashed_on_sign_in(store_engine: Engine, alice: int) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    assert credentials.needs_rehash(weak)
    with store_engine.begin() as conn:
        repo_accounts.update_user(conn, alice, password_hash=weak)
    sign_in(store_engine, "alice", PASSWORD, now=T0)
    with store_engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash).where(users.c.id == alice)).scalar_one()
    assert stored != weak and not credentials.needs_rehash(stored)
    assert credentials.verify_password(stored, PASSWORD)
    assert not credentials.verify_password(stored, "wrong password")
    assert not credentials.verify_password("not a hash", PASSWORD)


def test_a_session_resolves_to_its_user_and_csrf_token_until_it_expires(
    store_engine: Engine, alice: int
) -> None:
    with store_engine.begin() as conn:
        cookie, csrf = accounts.create_session(conn, alice, "10.0.0.1", ttl=3600, now=T0)
    with store_engine.begin() as conn:
        principal, stored_csrf = accounts.resolve_session(conn, cookie, remote="10.0.0.7", now=T0 + 3599)
        assert (principal.user_id, principal.remote, stored_csrf) == (alice, "10.0.0.7", csrf)
        assert credentials.check_csrf(stored_csrf, csrf)
        assert not credentials.check_csrf(stored_csrf, csrf[:-1] + "x")
        assert not credentials.check_csrf(stored_csrf, None)
        with pytest.raises(Unauthenticated, match="your session expired"):
            accounts.resolve_session(conn, cookie, now=T0 + 3600)
        with pytest.raises(Unauthenticated):
            accounts.resolve_session(conn, cookie + "x", now=T0)
        for garbage in ("", None, "x" * 10_000):
            with pytest.raises(Unauthenticated, match="not signed in"):
                accounts.resolve_session(conn, garbage, now=T0)


def test_the_store_keeps_only_the_sha256_of_the_cookie(store_engine: Engine, alice: int) -> None:
    with store_engine.begin() as conn:
        cookie, _ = accounts.create_session(conn, alice, None)
    with store_engine.connect() as conn:
        row = conn.execute(select(sessions)).one()
    assert cookie not in repr(tuple(row))
    assert row.token_hash == credentials.sha256_hex(cookie)


def test_default_sessions_last_twelve_hours_and_expired_ones_are_cleared(
    store_engine: Engine, alice: int
) -> None:
    with store_engine.begin() as conn:
        old, _ = accounts.create_session(conn, alice, None, now=T0)
        accounts.resolve_session(conn, old, now=T0 + 12 * 3600 - 1)
        with pytest.raises(Unauthenticated):
            accounts.resolve_session(conn, old, now=T0 + 12 * 3600)
        accounts.create_session(conn, alice, None, now=T0 + 13 * 3600)
        assert len(conn.execute(select(sessions.c.id)).all()) == 1


def test_signing_out_ends_the_session_and_is_audited(store_engine: Engine, alice: int) -> None:
    with store_engine.begin() as conn:
        cookie, _ = accounts.create_session(conn, alice, "10.0.0.1")
    with store_engine.begin() as conn:
        accounts.end_session(conn, cookie, remote="10.0.0.1")
        accounts.end_session(conn, cookie)  # twice, or with garbage: nothing to do
        accounts.end_session(conn, "garbage")
    with store_engine.begin() as conn:
        with pytest.raises(Unauthenticated, match="sign in again"):
            accounts.resolve_session(conn, cookie)
        entries = [(e.action, e.user_id, e.remote) for e in audit.entries(conn, team_id=None)]
    assert entries[:2] == [("session.end", alice, "10.0.0.1"), ("session.create", alice, "10.0.0.1")]
