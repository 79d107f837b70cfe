"""A database at schema 0006 with teams in it upgrades to 0007: the teams keep their rows and get
the default policy (no row); a policy can then be stored and read back (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import inspect, text

from reefline.store import repo_policies
from reefline.store.db import HEAD_REVISION, current_revision, upgrade
from tests.migrating import database_at


def test_a_0006_database_upgrades_and_stores_team_policies(store_url: str) -> None:
    engine = database_at(
        store_url, "0006", ["INSERT INTO teams (id, name, created_at) VALUES (1, 'lab', 1), (2, 'ml', 2)"]
    )
    try:
        upgrade(engine)
        assert current_revision(engine) == HEAD_REVISION
        with engine.begin() as conn:
            assert conn.execute(text("SELECT count(*) FROM teams")).scalar() == 2
            assert "team_policies" in inspect(conn).get_table_names()
            assert repo_policies.get_team_policy(conn, 1) is None  # the default
            repo_policies.set_team_policy(conn, 1, ("busybox",), ("local",), 10.0, None)
            repo_policies.set_team_policy(conn, 1, ("busybox", "registry.example/*"), ("docker",), 11.0, None)
        with engine.begin() as conn:
            row = repo_policies.get_team_policy(conn, 1)
            assert row is not None
            assert (row.images, row.executors, row.updated_at) == (
                ("busybox", "registry.example/*"),
                ("docker",),
                11.0,
            )
            assert repo_policies.get_team_policy(conn, 2) is None
            conn.execute(text("DELETE FROM teams WHERE id = 1"))  # a team's policy goes with it
            assert conn.execute(text("SELECT count(*) FROM team_policies")).scalar() == 0
    finally:
        engine.dispose()
