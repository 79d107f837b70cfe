"""A database shared by several projects: `last` and the run list stay within one workspace."""

from __future__ import annotations

from sqlalchemy import Engine

from reefline.store import repo


def _run(conn, workspace: str) -> int:  # type: ignore[no-untyped-def]
    pipeline = repo.get_or_create_pipeline(conn, "p", f"{workspace}/reefline.yaml", 1.0)
    return repo.create_run(
        conn,
        pipeline_id=pipeline,
        spec_text="",
        spec_path=f"{workspace}/reefline.yaml",
        spec_hash="0" * 64,
        params={},
        workspace=workspace,
        options={},
        trigger="cli",
        owner_host="h",
        owner_pid=1,
        now=1.0,
    )


def test_last_and_list_are_scoped_to_a_workspace(store_engine: Engine) -> None:
    with store_engine.begin() as conn:
        a1 = _run(conn, "/projects/a")
        b1 = _run(conn, "/projects/b")
        a2 = _run(conn, "/projects/a")
    with store_engine.connect() as conn:
        assert repo.resolve_run_ref(conn, "last", "/projects/a") == a2
        assert repo.resolve_run_ref(conn, "last", "/projects/b") == b1
        assert repo.resolve_run_ref(conn, "last") == a2
        assert [r.id for r in repo.list_runs(conn, workspace="/projects/a")] == [a2, a1]
        assert repo.resolve_run_ref(conn, str(b1), "/projects/a") == b1  # ids stay global
