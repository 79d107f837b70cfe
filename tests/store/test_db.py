"""Opening the database: location, SQLite settings, migrations (fast when current, safe when concurrent)."""

from __future__ import annotations

import multiprocessing
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, make_url, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import OperationalError

from reefline.store import db
from reefline.store.db import (
    HEAD_REVISION,
    MIGRATIONS_DIR,
    DatabaseMissing,
    alembic_config,
    current_revision,
    database_url,
    open_database,
    upgrade,
)
from reefline.store.db_errors import DatabaseUnusable
from reefline.store.errors import SchemaError
from reefline.store.tables import metadata


def test_database_url_defaults_to_sqlite_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REEFLINE_DATABASE_URL", raising=False)
    url = database_url(tmp_path)
    assert url == f"sqlite:///{tmp_path.resolve()}/.reefline/reefline.db"
    assert (tmp_path / ".reefline").is_dir()


def test_database_url_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REEFLINE_DATABASE_URL", "postgresql+psycopg://db.example/reefline")
    assert database_url(tmp_path) == "postgresql+psycopg://db.example/reefline"
    assert not (tmp_path / ".reefline").exists()


def test_sqlite_connections_get_wal_and_pragmas(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'sub' / 'r.db'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000
    finally:
        engine.dispose()


def test_in_memory_sqlite_is_one_migrated_database() -> None:
    engine = open_database("sqlite://")
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO pipelines (name, source_path, created_at) VALUES ('p', '/', 0)"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM pipelines")).scalar() == 1
    finally:
        engine.dispose()


def test_head_revision_constant_matches_migration_scripts() -> None:
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD_REVISION


def test_migrations_ship_with_the_package() -> None:
    # setuptools packages .py files of folders with __init__.py; the .mako/.ini are package-data.
    names = ("__init__.py", "env.py", "script.py.mako", "versions/__init__.py", "versions/0001_initial.py")
    for name in names:
        assert (MIGRATIONS_DIR / name).is_file(), name


def _migrated(url: str) -> Engine:
    """An engine on ``url`` brought to head by replaying every migration (not the fresh-database path)."""
    engine = open_database(url, migrate=False)
    with engine.connect() as conn:
        db._migrate(conn, None)
        conn.commit()
    return engine


def test_migrations_create_exactly_the_metadata(store_url: str) -> None:
    engine = _migrated(store_url)
    try:
        assert current_revision(engine) == HEAD_REVISION
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()


def test_downgrade_then_upgrade_again(store_engine: Engine) -> None:
    from alembic import command

    with store_engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert current_revision(store_engine) is None
    upgrade(store_engine)
    assert current_revision(store_engine) == HEAD_REVISION


def test_upgrade_skips_alembic_when_current(store_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_args: object) -> None:
        raise AssertionError("Alembic machinery used on an up-to-date database")

    monkeypatch.setattr(db, "_upgrade_locked", fail)
    upgrade(store_engine)


def test_unknown_newer_revision_is_a_clear_error(store_engine: Engine) -> None:
    with store_engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(SchemaError, match="newer Reefline"):
        upgrade(store_engine)


def _open_after_barrier(url: str, barrier: Any, results: Any) -> None:
    try:
        barrier.wait(timeout=30)  # both processes open the new file at the same moment
        engine = open_database(url)
        try:
            with engine.connect() as conn:
                results.put(int(conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one()))
        finally:
            engine.dispose()
    except BaseException as exc:
        results.put(repr(exc))


def test_processes_create_the_same_database_at_once(store_url: str) -> None:
    url, processes = store_url, 3
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(processes), context.Queue()
    workers = [
        context.Process(target=_open_after_barrier, args=(url, barrier, results)) for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    try:
        outcomes = [results.get(timeout=60) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=10)
    assert outcomes == [1] * processes


def test_readers_get_a_url_without_creating_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REEFLINE_DATABASE_URL", raising=False)
    url = database_url(tmp_path / "typo", create=False)
    assert url == f"sqlite:///{tmp_path.resolve()}/typo/.reefline/reefline.db"
    assert not (tmp_path / "typo").exists()
    with pytest.raises(DatabaseMissing, match="no runs here yet"):
        open_database(url, create=False)
    assert not (tmp_path / "typo").exists()


def _made_database(tmp_path: Path) -> Path:
    path = tmp_path / "made.db"
    open_database(f"sqlite:///{path}").dispose()
    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    return path


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("garbage", "REEFLINE_DATABASE_URL is not a database URL: 'garbage'"),
        (
            "oracle://scott:tiger@db.example/x",
            "the database driver for oracle://scott:***@db.example/x is not",
        ),
        ("mysql://u@localhost/x", "the database driver for mysql://u@localhost/x is not installed"),
        ("nosuch://host/x", "unsupported database 'nosuch'"),
        (
            "postgresql+psycopg://u:secret@127.0.0.1:1/x",
            "cannot connect to the database postgresql+psycopg://u:***@",
        ),
    ],
)
def test_bad_urls_are_store_errors_without_the_password(url: str, message: str) -> None:
    with pytest.raises(DatabaseUnusable) as caught:
        open_database(url)
    assert str(caught.value).startswith(message)
    assert "secret" not in str(caught.value) and "tiger" not in str(caught.value)


@pytest.mark.postgres
def test_a_missing_postgres_database_names_it(postgres_server_url: str) -> None:
    url = make_url(postgres_server_url).set(database="reefline_no_such_database")
    with pytest.raises(DatabaseUnusable, match='database "reefline_no_such_database" does not exist'):
        open_database(url.render_as_string(hide_password=False))


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "reefline.db"
    path.write_bytes(b"\x00garbage, not SQLite\n" * 500)
    with pytest.raises(DatabaseUnusable, match=f"{path}: file is not a database"):
        open_database(f"sqlite:///{path}")


@pytest.mark.parametrize("keep", [100, 4096, 3 * 4096])
def test_a_truncated_database(tmp_path: Path, keep: int) -> None:
    path = _made_database(tmp_path)
    path.write_bytes(path.read_bytes()[:keep])
    with pytest.raises(DatabaseUnusable, match=f"{path}: database disk image is malformed"):
        engine = open_database(f"sqlite:///{path}")
        with engine.connect() as conn:  # a page past the cut is read here, not at open
            conn.execute(text("SELECT count(*) FROM runs")).scalar()


def test_writing_a_read_only_database(tmp_path: Path) -> None:
    path = _made_database(tmp_path)
    engine = open_database(f"sqlite:///file:{path}?mode=ro&uri=true", migrate=False)
    try:
        insert = text("INSERT INTO pipelines (name, source_path, created_at) VALUES ('p', '/', 0)")
        with (
            pytest.raises(DatabaseUnusable, match="attempt to write a readonly database"),
            engine.begin() as conn,
        ):
            conn.execute(insert)
    finally:
        engine.dispose()


def test_other_database_errors_stay_what_they_are(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        with pytest.raises(OperationalError, match="no such table"), engine.connect() as conn:
            conn.execute(text("SELECT * FROM no_such_table"))
    finally:
        engine.dispose()


def _schema(engine: Engine) -> dict[str, Any]:
    inspector = sa_inspect(engine)

    def by_name(items: list[Any]) -> list[Any]:
        return sorted(items, key=lambda item: str(item.get("name")))

    return {
        table: {
            "columns": sorted(
                (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                for c in inspector.get_columns(table)
            ),
            "pk": inspector.get_pk_constraint(table),
            "fks": by_name(inspector.get_foreign_keys(table)),
            "indexes": by_name(inspector.get_indexes(table)),
            "uniques": by_name(inspector.get_unique_constraints(table)),
        }
        for table in sorted(inspector.get_table_names())
    }


def test_a_new_database_gets_the_schema_the_migrations_make(store_url: str) -> None:
    from alembic import command

    engine = open_database(store_url)  # a new database: created from the metadata, stamped at head
    try:
        assert current_revision(engine) == HEAD_REVISION
        fresh = _schema(engine)
        with engine.begin() as conn:  # the migrations can take it down (and so later ones up)
            config = alembic_config()
            config.attributes["connection"] = conn
            command.downgrade(config, "base")
            conn.execute(text("DROP TABLE alembic_version"))
        assert _schema(engine) == {}
        with engine.connect() as conn:
            db._migrate(conn, None)
            conn.commit()
        assert current_revision(engine) == HEAD_REVISION
        assert _schema(engine) == fresh
    finally:
        engine.dispose()


def test_opening_a_new_or_current_database_does_not_load_alembic(tmp_path: Path) -> None:
    code = (
        "import sys; from reefline.store.db import open_database\n"
        f"open_database('sqlite:///{tmp_path}/new.db').dispose()\n"
        f"open_database('sqlite:///{tmp_path}/new.db').dispose()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
