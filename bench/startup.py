"""Start-up time of the ``reefline`` command: N runs of each command, the median (hyperfine-like).

Commands: ``--version``, ``validate``, ``runs``, ``show last`` in a project with one finished run, and
a cold 1-job ``reefline run`` in a fresh project (a new folder, so a new database, every time).
Targets on a quiet machine (issue 10 §6): ``--version`` <= 0.08 s, ``validate`` <= 0.15 s,
``runs``/``show`` <= 0.25 s, the cold run at or below Luigi's cold start (~0.24 s here).

    .venv/bin/python bench/startup.py [--runs 15] [--json]

``--importtime CMD`` prints the top ``python -X importtime`` entries (cumulative) of one command instead.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REEFLINE = Path(sys.executable).parent / "reefline"
ONE_JOB = """\
version: 1
name: cold
jobs:
  hello:
    script: echo hello
"""
COMMANDS = {
    "--version": ["--version"],
    "validate": ["validate"],
    "runs": ["runs"],
    "show last": ["show", "last"],
}


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("REEFLINE_DATABASE_URL", "CI")}


def _time(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run([str(REEFLINE), *args], cwd=cwd, env=_env(), check=True, capture_output=True)
    return time.perf_counter() - start


def _project(root: Path, name: str) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "reefline.yaml").write_text(ONE_JOB, encoding="utf-8")
    return folder


def measure(runs: int) -> dict[str, float]:
    """Median wall seconds per command."""
    medians: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="reefline-startup-") as tmp:
        root = Path(tmp)
        warm = _project(root, "warm")
        _time(["run", "--plain"], warm)  # one finished run for `runs` / `show last`; warms the caches
        for label, args in COMMANDS.items():
            _time(args, warm)
            medians[label] = statistics.median(_time(args, warm) for _ in range(runs))
        cold = [_time(["run", "--plain"], _project(root, f"cold{i}")) for i in range(runs)]
        medians["cold 1-job run"] = statistics.median(cold)
    return medians


def importtime(args: list[str], top: int) -> str:
    """The ``top`` slowest imports (cumulative microseconds) of ``reefline ARGS``."""
    with tempfile.TemporaryDirectory(prefix="reefline-importtime-") as tmp:
        folder = _project(Path(tmp), "p")
        _time(["run", "--plain"], folder)
        code = "import sys; from reefline.cli.main import main; sys.argv[1:] = sys.argv[1:]; main()"
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code, *args],
            cwd=folder,
            env=_env(),
            capture_output=True,
            text=True,
            check=False,
        )
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, self_us, cumulative, name = (part.strip() for part in line.replace("import time:", "|").split("|"))
        rows.append((int(cumulative), int(self_us), name))
    rows.sort(reverse=True)
    return "\n".join(f"{cum / 1000:8.1f} ms {own / 1000:7.1f} ms  {name}" for cum, own, name in rows[:top])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15, help="runs per command (default 15)")
    parser.add_argument("--json", action="store_true", help="print the medians as JSON")
    parser.add_argument("--importtime", metavar="CMD", help="e.g. 'runs' or 'show last' or '--version'")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    if args.importtime:
        print(importtime(args.importtime.split(), args.top))
        return
    medians = measure(args.runs)
    if args.json:
        print(json.dumps(medians, indent=2))
        return
    print(f"median of {args.runs} runs (load average {os.getloadavg()[0]:.2f})")
    for label, seconds in medians.items():
        print(f"  {label:<16} {seconds:6.3f} s")


if __name__ == "__main__":
    main()
