"""Any text a job controls is stored and read back byte-exactly, on SQLite and PostgreSQL."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from store_factories import RunFactory, job_rows

from reefline.store import repo
from reefline.store.safe_text import MARK, decode, encode

NASTY = [
    "a\x00b",  # NUL: PostgreSQL text cannot hold it
    "\x00",
    "\x1b[31mred\x1b[0m",  # ESC
    "\ufffd invalid utf-8 replaced",
    "bad name \udcff",  # a lone surrogate (surrogateescape of an undecodable byte)
    "back\\slash \\0 \\u0000 \\\\",  # what the escape uses, literally
    MARK + "starts with the mark",
    MARK,
    "",
    "plain",
]


@given(st.text())
def test_encode_then_decode_is_the_identity(value: str) -> None:
    assert decode(encode(value)) == value


def test_plain_text_is_stored_as_it_is() -> None:
    assert encode("train[model=tree] 100% \\ done") == "train[model=tree] 100% \\ done"
    assert "\x00" not in encode("a\x00b")


def test_log_lines_round_trip_byte_exactly(store_engine: Engine, new_run: RunFactory) -> None:
    with store_engine.begin() as conn:
        run_id = new_run(conn)
        job_id = repo.create_jobs(conn, run_id, job_rows(1))["job0"]
        repo.insert_log_lines(
            conn,
            [
                {
                    "run_id": run_id,
                    "job_id": job_id,
                    "attempt": 1,
                    "seq": i,
                    "ts": 1.0,
                    "stream": "stdout",
                    "text": t,
                }
                for i, t in enumerate(NASTY)
            ],
        )
    with store_engine.connect() as conn:
        assert [row.text for row in repo.read_logs(conn, run_id)] == NASTY


def test_reasons_metric_keys_and_paths_round_trip(store_engine: Engine, new_run: RunFactory) -> None:
    nasty = "x\x00\x1b\udcff\\0"
    with store_engine.begin() as conn:
        run_id = new_run(conn, workspace="/w/\udcff", spec_path="/w/\udcff/reefline.yaml")
        job_id = repo.create_jobs(conn, run_id, job_rows(1, prefix="j\x00"))["j\x000"]
        repo.update_run(conn, run_id, state="failed", reason=nasty)
        repo.update_job(conn, job_id, state="failed", reason=nasty)
        attempt_id = repo.create_attempt(conn, job_id, 1, "running", 1.0)
        repo.update_attempt(conn, attempt_id, state="failed", error=nasty)
        repo.insert_metrics(conn, run_id, job_id, {nasty: 1.0, "plain": 2.0})
        repo.insert_outputs(
            conn, job_id, [{"name": nasty, "path": nasty, "type": "file", "sha256": "0" * 64, "size": 1}]
        )
        repo.insert_state_changes(
            conn, [repo.state_change(run_id, job_id, "running", "failed", 2.0, reason=nasty)]
        )
    with store_engine.connect() as conn:
        run = repo.get_run(conn, run_id)
        assert (run.reason, run.workspace) == (nasty, "/w/\udcff")
        job = repo.get_job_by_name(conn, run_id, "j\x000")  # lookups by such a name work too
        assert job.reason == nasty
        assert repo.list_attempts(conn, job_id)[0].error == nasty
        assert {m.key for m in repo.list_metrics(conn, run_id)} == {nasty, "plain"}
        output = repo.list_outputs(conn, run_id)[job_id][0]
        assert (output.name, output.path) == (nasty, nasty)
        assert repo.list_state_changes(conn, run_id)[-1].reason == nasty
        assert repo.list_runs(conn, workspace="/w/\udcff")[0].id == run_id
        # and nothing raw reached the database
        stored = conn.execute(text("SELECT reason FROM runs WHERE id = :id"), {"id": run_id}).scalar_one()
        assert "\x00" not in stored
