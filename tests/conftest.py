"""Shared fixtures. Database ones: ``store_url`` / ``store_engine`` run a test on SQLite and PostgreSQL.

PostgreSQL comes from ``$REEFLINE_TEST_POSTGRES_URL`` (a server URL; each test gets its own fresh
database, dropped afterwards). If the server is unreachable those tests are skipped, except in CI
(``CI=true``), where a missing required service is a failure.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url
from sqlalchemy.pool import NullPool

from reefline.store.db import open_database

# docker_engine and docker_client; s3_endpoint and s3_bucket
pytest_plugins = ["tests.docker_support", "tests.s3_support"]

POSTGRES_URL_ENV = "REEFLINE_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TEST_DATABASE_PREFIX = "reefline_test_"
SESSION_START = time.time()


def pytest_configure(config: pytest.Config) -> None:
    # Compiled plans (services/plan_cache.py) kept by the tests' runs stay out of the user's ~/.cache.
    os.environ.setdefault("REEFLINE_CACHE_DIR", tempfile.mkdtemp(prefix="reefline-test-cache-"))
    # Every `reefline` the tests start runs in a process of its own, as it did before the daemon
    # existed; tests/cli/test_daemon.py turns the daemon on for itself. REEFLINE_TEST_DAEMON=on runs
    # the whole suite's commands through daemons instead.
    if os.environ.get("REEFLINE_TEST_DAEMON") != "on":
        os.environ["REEFLINE_DAEMON"] = "off"


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop the daemons this run started in the shared socket folder: a test whose commands lost
    REEFLINE_DAEMON=off (it should not have; the warning says so)."""
    import psutil

    if os.environ.get("REEFLINE_TEST_DAEMON") == "on":
        return
    shared = f"/tmp/reefline-{os.getuid()}"
    for process in psutil.process_iter(["cmdline", "create_time"]):
        cmdline = process.info["cmdline"] or []
        daemon = "reefline.cli.daemon import serve" in " ".join(cmdline) and shared in cmdline
        if daemon and process.info["create_time"] >= SESSION_START:
            sys.stderr.write(f"\nwarning: a test started a Reefline daemon ({cmdline[-1]}); stopped\n")
            with suppress(psutil.Error):
                process.kill()


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """URL of a reachable PostgreSQL server (skips, or fails in CI, when there is none)."""
    url = os.environ.get(POSTGRES_URL_ENV) or DEFAULT_POSTGRES_URL
    engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            pass
    except Exception as exc:  # any failure to connect means "no server" here
        shown = make_url(url).render_as_string(hide_password=True)
        message = (
            f"PostgreSQL not reachable at {shown} ({type(exc).__name__}): start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` "
            f"or point {POSTGRES_URL_ENV} at a server"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    finally:
        engine.dispose()
    return url


@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """Create an empty database on the server, yield its URL, drop it (even if still in use)."""
    name = f"{TEST_DATABASE_PREFIX}{secrets.token_hex(6)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a new, empty (not migrated) database: a temporary SQLite file or a fresh PostgreSQL one."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'reefline.db'}"
        return
    server_url = request.getfixturevalue("postgres_server_url")
    with fresh_postgres_database(server_url) as url:
        yield url


@pytest.fixture
def store_engine(store_url: str) -> Iterator[Engine]:
    """An engine on a new database migrated to the newest schema (SQLite and PostgreSQL)."""
    engine = open_database(store_url)
    try:
        yield engine
    finally:
        engine.dispose()
