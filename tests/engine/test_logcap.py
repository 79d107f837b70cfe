"""Bounded logs: head and tail kept with an omission marker, the whole log in a gzip file."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from reefline.engine.logcap import AttemptLog, Backpressure, LogLimits, SeqLine, read_full_log
from reefline.engine.states import RunState
from reefline.services.full_log import iter_full_log
from reefline.services.queries import iter_logs

if TYPE_CHECKING:
    from tests.engine.support import Project


def _sink(tmp_path: Path, limits: LogLimits) -> tuple[AttemptLog, list[SeqLine], Backpressure]:
    got: list[SeqLine] = []
    pressure = Backpressure()

    def emit(batch: list[SeqLine]) -> None:
        got.extend(batch)
        pressure.release()  # what the engine does once it took a batch

    return AttemptLog(emit, pressure, limits, tmp_path / "1" / "7-1.log.gz"), got, pressure


def test_past_the_line_cap_head_and_tail_are_kept_with_a_marker(tmp_path: Path) -> None:
    log, got, _ = _sink(tmp_path, LogLimits(max_lines=10, max_bytes=10**9))
    for i in range(1000):
        log("stdout", float(i), f"line {i}")
    log.close()
    texts = [text for _, _, text, _ in got]
    assert texts[:5] == [f"line {i}" for i in range(5)]
    assert texts[5] == "… 990 lines omitted (the whole log: reefline logs RUN JOB --full) …"
    assert texts[6:] == [f"line {i}" for i in range(995, 1000)]
    full = list(read_full_log(tmp_path / "1" / "7-1.log.gz"))
    assert [text for _, _, text in full] == [f"line {i}" for i in range(1000)]
    assert full[3] == ("stdout", 3.0, "line 3")
    # Numbered where produced: the marker has the first omitted line's number, the others are missing.
    assert [seq for *_, seq in got] == [*range(6), *range(995, 1000)]


def test_lines_are_numbered_in_production_order_with_the_engines_lines(tmp_path: Path) -> None:
    from reefline.engine.logcap import LogSeq

    seq = LogSeq(attempt=2)
    got: list[SeqLine] = []
    pressure = Backpressure()

    def emit(batch: list[SeqLine]) -> None:
        got.extend(batch)
        pressure.release()

    log = AttemptLog(emit, pressure, LogLimits(), None, seq=seq)
    numbers = [seq.next()]  # a line the engine writes about the attempt, before its output
    for i in range(3):
        log("stdout", 0.0, f"line {i}")
    numbers.append(seq.next())
    log.close()
    assert [(text, number) for _, _, text, number in got] == [("line 0", 1), ("line 1", 2), ("line 2", 3)]
    assert numbers == [0, 4]


def test_the_byte_cap_counts_too(tmp_path: Path) -> None:
    log, got, _ = _sink(tmp_path, LogLimits(max_lines=10**6, max_bytes=1000))
    for _ in range(100):
        log("stderr", 0.0, "x" * 99)
    log.close()
    assert sum(len(text) + 1 for _, _, text, _ in got if "omitted" not in text) <= 1000
    assert any("lines omitted" in text for _, _, text, _ in got)


def test_under_the_cap_nothing_is_omitted(tmp_path: Path) -> None:
    log, got, _ = _sink(tmp_path, LogLimits())
    for i in range(50):
        log("stdout", 0.0, str(i))
    log.close()
    assert [text for _, _, text, _ in got] == [str(i) for i in range(50)]
    assert not (tmp_path / "1").exists()  # a small log is in the store alone: no file per attempt


def test_a_full_log_that_cannot_be_written_costs_the_file_not_the_job(tmp_path: Path) -> None:
    (tmp_path / "1").write_text("a file where the folder should be")
    log, got, _ = _sink(tmp_path, LogLimits(max_lines=10, max_bytes=10**9))
    for i in range(100):
        log("stdout", 0.0, f"line {i}")
    log.close()
    marker = next(text for _, _, text, _ in got if "omitted" in text)
    assert marker.startswith("… 90 lines omitted (the whole log could not be kept: ")


def test_a_flood_waits_for_the_engine_instead_of_queueing_without_bound(tmp_path: Path) -> None:
    pressure = Backpressure(limit=2)
    queued: list[list[SeqLine]] = []
    log = AttemptLog(queued.append, pressure, LogLimits(), None)  # an engine that takes nothing
    done = threading.Event()

    def flood() -> None:
        for i in range(50_000):
            log("stdout", 0.0, f"{i}")
        done.set()

    threading.Thread(target=flood, daemon=True).start()
    time.sleep(0.5)
    assert not done.is_set()  # blocked: two batches wait and the engine took none
    assert len(queued) <= 3
    taken = 0
    while not done.is_set() or taken < len(queued):
        if taken < len(queued):  # the engine catches up: one release per batch it took
            taken += 1
            pressure.release()
        else:
            time.sleep(0.001)
    assert sum(map(len, queued)) + len(log._batch) == 50_000


@pytest.mark.parametrize("value", ["abc", "1", "-5"])
def test_a_bad_setting_falls_back_to_the_default_and_says_so(value: str) -> None:
    limits = LogLimits.from_env({"REEFLINE_LOG_MAX_LINES": value, "REEFLINE_LOG_MAX_BYTES": "1_000"})
    assert limits.max_lines == 100_000 and limits.max_bytes == 1000
    assert "REEFLINE_LOG_MAX_LINES" in limits.problems[0]


def test_a_run_stores_the_capped_log_and_logs_full_reads_all_of_it(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REEFLINE_LOG_MAX_LINES", "100")
    project.write(
        """
        version: 1
        name: flood
        jobs:
          loud: {script: ["seq 1 5000", "echo 'metrics?' >&2"]}
        """
    )
    outcome, _ = project.run()
    assert outcome.state is RunState.SUCCESS
    stored = [row.text for _, row in iter_logs(project.path, "last", "loud")]
    assert stored[:50] == [str(i) for i in range(1, 51)]
    assert stored[50].startswith("… 4901 lines omitted (the whole log: reefline logs 1 loud --full)")
    assert stored[-1] == "metrics?"
    assert len(stored) == 101
    full = [text for _, _, text in iter_full_log(project.path, "last", "loud")]
    assert full == [*map(str, range(1, 5001)), "metrics?"]


def test_a_full_log_cut_short_yields_what_it_has_and_says_so(tmp_path: Path) -> None:
    log, _, _ = _sink(tmp_path, LogLimits(max_lines=10, max_bytes=10**9))
    for i in range(200_000):
        log("stdout", 0.0, f"line {i}")
    log.close()
    path = tmp_path / "1" / "7-1.log.gz"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # what a killed engine leaves
    lines = list(read_full_log(path))
    assert lines[0] == ("stdout", 0.0, "line 0")
    assert lines[-1][0] == "system" and "ends early" in lines[-1][2]


def test_what_reefline_says_about_an_attempt_follows_the_jobs_own_lines(project: Project) -> None:
    project.write(
        """
        version: 1
        name: order
        jobs:
          m:
            script: ["seq 1 3", "echo '{\\"loss\\": NaN}' > metrics.json", "echo done"]
            metrics: metrics.json
        """
    )
    assert project.run()[0].state is RunState.SUCCESS
    stored = [row.text for _, row in iter_logs(project.path, "last", "m")]
    assert stored[:4] == ["1", "2", "3", "done"]
    assert "'loss' is NaN; not recorded" in stored[-1]


def test_a_flood_steps_aside_while_api_requests_are_in_flight(tmp_path: Path) -> None:
    from reefline.engine.foreground import FOREGROUND
    from reefline.engine.logcap import STEP_ASIDE_EVERY, STEP_ASIDE_FOR

    log, got, _ = _sink(tmp_path, LogLimits())
    lines = 4 * STEP_ASIDE_EVERY
    FOREGROUND.begin()  # a request that never ends: the flood is slowed down, not stopped
    try:
        began = time.monotonic()
        for i in range(lines):
            log("stdout", 0.0, f"line {i}")
        stepped_aside = time.monotonic() - began
    finally:
        FOREGROUND.end()
    log.close()
    assert [text for _, _, text, _ in got] == [f"line {i}" for i in range(lines)]
    assert stepped_aside >= 4 * STEP_ASIDE_FOR
