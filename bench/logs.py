"""Log flood: peak RSS of `reefline run` for a job printing N MB, and how long `logs` takes after.

The job prints N MB of 100-byte lines to stdout (`yes | head -c`). Measured: the wall time of
`reefline run`, its peak RSS (the engine process only: ru_maxrss of the reefline child, sampled from
/proc while it runs, since a job's RSS would be mixed into RUSAGE_CHILDREN), the database size,
the wall time of `reefline logs last loud` (the capped log) and of `... --full` (the whole log from
its gzip file).

    .venv/bin/python bench/logs.py [--mb 300] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REEFLINE = Path(sys.executable).parent / "reefline"
LINE = "a 100-byte line of log output, printed again and again by a job that floods its log" + "." * 15
SPEC = """\
version: 1
name: flood
jobs:
  loud:
    script: ["set +o pipefail; yes '{line}' | head -c {size}"]
"""


def _peak_rss_kib(pid: int, stop: threading.Event, out: list[int]) -> None:
    """Samples VmHWM (the peak RSS the kernel tracks) of ``pid`` until it exits."""
    peak = 0
    while not stop.is_set():
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            break
        time.sleep(0.05)
    out.append(peak)


def _timed(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr.decode(errors="replace"))
    return time.perf_counter() - t0, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=300, help="megabytes the job prints (default 300)")
    parser.add_argument("--database-url", help="REEFLINE_DATABASE_URL for the run (default: SQLite)")
    args = parser.parse_args()
    env = dict(os.environ)
    env.pop("REEFLINE_DATABASE_URL", None)
    if args.database_url:
        env["REEFLINE_DATABASE_URL"] = args.database_url
    with tempfile.TemporaryDirectory(prefix="reefline-bench-logs-") as tmp:
        project = Path(tmp)
        (project / "reefline.yaml").write_text(SPEC.format(line=LINE, size=args.mb * 1024 * 1024))
        stop, peak = threading.Event(), []
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [str(REEFLINE), "run"], cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        sampler = threading.Thread(target=_peak_rss_kib, args=(proc.pid, stop, peak))
        sampler.start()
        _, err = proc.communicate()
        run_wall = time.perf_counter() - t0
        stop.set()
        sampler.join()
        if proc.returncode != 0:
            sys.stderr.write(err.decode(errors="replace"))
        db = project / ".reefline" / "reefline.db"
        logs_wall, logs_rc = _timed([str(REEFLINE), "logs", "last", "loud"], project, env)
        full_wall, full_rc = _timed([str(REEFLINE), "logs", "last", "loud", "--full"], project, env)
        gz = sum(p.stat().st_size for p in (project / ".reefline" / "logs").rglob("*.gz"))
        print(
            json.dumps(
                {
                    "printed_mb": args.mb,
                    "run_exit": proc.returncode,
                    "run_wall_s": round(run_wall, 2),
                    "engine_peak_rss_mb": round(peak[0] / 1024, 1) if peak else None,
                    "sqlite_db_mb": round(db.stat().st_size / 2**20, 1) if db.exists() else None,
                    "full_log_gz_mb": round(gz / 2**20, 1),
                    "logs_wall_s": round(logs_wall, 2),
                    "logs_exit": logs_rc,
                    "logs_full_wall_s": round(full_wall, 2),
                    "logs_full_exit": full_rc,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
