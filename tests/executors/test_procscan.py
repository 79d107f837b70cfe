"""Finding a job's processes by their environment markers (a fake /proc tree)."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

from reefline.executors.procscan import attempt_marker, find_marked, kill_marked

MARKERS = {"REEFLINE_ATTEMPT_ID": "1-a-1-x", "REEFLINE_WORKSPACE": "/ws"}
MARKED = b"PATH=/bin\0REEFLINE_ATTEMPT_ID=1-a-1-x\0REEFLINE_WORKSPACE=/ws\0"


def _proc(tmp_path: Path, environs: dict[int, bytes], last_pid: int) -> Path:
    for pid, environ in environs.items():
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "environ").write_bytes(environ)
    (tmp_path / "sys" / "kernel").mkdir(parents=True)
    (tmp_path / "sys" / "kernel" / "ns_last_pid").write_text(f"{last_pid}\n")
    return tmp_path


def test_only_processes_with_every_marker_exactly_are_found(tmp_path: Path) -> None:
    proc = _proc(
        tmp_path,
        {
            10: MARKED,
            11: b"REEFLINE_ATTEMPT_ID=1-a-1-x\0",  # another workspace's
            12: b"REEFLINE_ATTEMPT_ID=1-a-1-xy\0REEFLINE_WORKSPACE=/ws\0",  # a longer id
            13: b"",  # a zombie
        },
        last_pid=13,
    )
    assert find_marked(MARKERS, proc) == [10]


def test_since_pid_looks_only_at_processes_created_after(tmp_path: Path) -> None:
    proc = _proc(tmp_path, {5: MARKED, 205: MARKED, 300: MARKED}, last_pid=250)
    assert find_marked(MARKERS, proc, since_pid=200) == [205]
    # pids wrapped around since pid 200 was handed out: 5 is new, 150 would be old
    (tmp_path / "wrapped").mkdir()
    proc2 = _proc(tmp_path / "wrapped", {5: MARKED, 150: MARKED, 205: MARKED}, last_pid=10)
    assert sorted(find_marked(MARKERS, proc2, since_pid=200)) == [5, 205]


def test_markers_of_two_attempts_differ_even_with_the_same_run_job_and_attempt() -> None:
    first, second = attempt_marker(1, "train[model=tree]", 1), attempt_marker(1, "train[model=tree]", 1)
    assert first.startswith("1-train[model=tree]-1-") and first != second


def _stat(pid: int, state: str, flags: int = 0x400000) -> bytes:
    return f"{pid} (odd ) name) {state} 1 {pid} {pid} 0 -1 {flags} 0 0".encode()


def test_a_process_caught_mid_exec_is_killed_once_its_environment_reads(tmp_path: Path) -> None:
    victim = subprocess.Popen(["sleep", "30"])
    try:
        proc = _proc(tmp_path, {victim.pid: b""}, last_pid=victim.pid)
        (proc / str(victim.pid) / "stat").write_bytes(_stat(victim.pid, "R"))
        (proc / "1").mkdir()  # a kernel thread and a zombie read empty for good: never waited for
        (proc / "1" / "environ").write_bytes(b"")
        (proc / "1" / "stat").write_bytes(_stat(1, "S", flags=0x00200040))
        os.mkdir(proc / "2")
        (proc / "2" / "environ").write_bytes(b"")
        (proc / "2" / "stat").write_bytes(_stat(2, "Z"))
        assert find_marked(MARKERS, proc) == []
        threading.Timer(0.05, (proc / str(victim.pid) / "environ").write_bytes, [MARKED]).start()
        gone = threading.Thread(target=lambda: (victim.wait(), shutil.rmtree(proc / str(victim.pid))))
        gone.start()  # like /proc once the killed process is reaped
        assert kill_marked(MARKERS, proc, patience=5) == [victim.pid]
        gone.join(timeout=5)
        assert victim.wait(timeout=5) == -9
    finally:
        victim.kill()
        victim.wait()


def test_patience_bounds_the_wait_for_an_environment_that_never_shows(tmp_path: Path) -> None:
    proc = _proc(tmp_path, {4242: b""}, last_pid=4242)
    (proc / "4242" / "stat").write_bytes(_stat(4242, "S"))
    started = time.monotonic()
    assert kill_marked(MARKERS, proc, patience=0.1) == []
    assert time.monotonic() - started < 2
