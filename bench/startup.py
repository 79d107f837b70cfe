"""Start-up time of the ``reefline`` command: N runs of each command, the median (hyperfine-like).

Commands: ``--version``, ``validate``, ``runs``, ``show last`` in a project with one finished run, and
a cold 1-job ``reefline run`` in a fresh project (a new folder, so a new database, every time).
Targets on a quiet machine (issue 10 §6): ``--version`` <= 0.08 s, ``validate`` <= 0.15 s,
``runs``/``show`` <= 0.25 s, the cold run at or below Luigi's cold start (~0.24 s here).

Wall time is what a user waits; CPU time (user + sys, children included) moves much less when other
work loads the machine, so both are printed. ``--baseline SRC`` also times another checkout's
``src/`` (e.g. ``git archive COMMIT src | tar -x -C /tmp/base``), alternating the two runs by run,
so both see the same load.

    .venv/bin/python bench/startup.py [--runs 15] [--baseline /tmp/base/src] [--json]
    .venv/bin/python bench/startup.py --importtime 'show last' [--baseline /tmp/base/src]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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
# What the installed console script runs (src=None), or the same from another source tree.
ENTRY = "import sys; from reefline.cli.main import main; sys.argv[0] = 'reefline'; sys.exit(main())"


def _env(src: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REEFLINE_DATABASE_URL", "CI", "PYTHONPATH")}
    if src is not None:
        env["PYTHONPATH"] = src
    return env


def _command(args: list[str], src: str | None) -> list[str]:
    if src is None:
        return [str(Path(sys.executable).parent / "reefline"), *args]
    return [sys.executable, "-c", ENTRY, *args]


def _time(args: list[str], cwd: Path, src: str | None) -> tuple[float, float]:
    """Wall and CPU seconds of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(_command(args, src), cwd=cwd, env=_env(src), check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def _project(root: Path, name: str) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "reefline.yaml").write_text(ONE_JOB, encoding="utf-8")
    return folder


Medians = dict[str, dict[str, tuple[float, float]]]  # label -> source -> (wall, cpu)


def measure(runs: int, sources: dict[str, str | None]) -> Medians:
    """Median wall and CPU seconds per command and source, the sources alternating run by run."""
    samples: dict[str, dict[str, list[tuple[float, float]]]] = {}
    with tempfile.TemporaryDirectory(prefix="reefline-startup-") as tmp:
        root = Path(tmp)
        warm = {name: _project(root, f"warm-{name}") for name in sources}
        for name, src in sources.items():
            _time(["run", "--plain"], warm[name], src)  # a finished run for `runs` / `show last`
        for label, args in COMMANDS.items():
            for name, src in sources.items():
                _time(args, warm[name], src)  # warm the file cache
            for _ in range(runs):
                for name, src in sources.items():
                    samples.setdefault(label, {}).setdefault(name, []).append(_time(args, warm[name], src))
        for i in range(runs):
            for name, src in sources.items():
                cold = _project(root, f"cold-{name}-{i}")
                samples.setdefault("cold 1-job run", {}).setdefault(name, []).append(
                    _time(["run", "--plain"], cold, src)
                )
    return {
        label: {
            name: (statistics.median(w for w, _ in values), statistics.median(c for _, c in values))
            for name, values in by_source.items()
        }
        for label, by_source in samples.items()
    }


def importtime(args: list[str], top: int, src: str | None) -> str:
    """The ``top`` slowest imports (cumulative) of ``reefline ARGS`` in a project with one run."""
    with tempfile.TemporaryDirectory(prefix="reefline-importtime-") as tmp:
        folder = _project(Path(tmp), "p")
        _time(["run", "--plain"], folder, src)
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", ENTRY, *args],
            cwd=folder,
            env=_env(src),
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
    total = sum(own for _, own, _ in rows)
    rows.sort(reverse=True)
    lines = [f"{len(rows)} modules, {total / 1000:.1f} ms of imports in all; cumulative, self, module:"]
    lines += [f"{cum / 1000:8.1f} ms {own / 1000:7.1f} ms  {name}" for cum, own, name in rows[:top]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15, help="runs per command (default 15)")
    parser.add_argument("--baseline", metavar="SRC", help="also time this src/ folder (another checkout)")
    parser.add_argument("--json", action="store_true", help="print the medians as JSON")
    parser.add_argument("--importtime", metavar="CMD", help="e.g. 'runs' or 'show last' or '--version'")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    if args.importtime:
        if args.baseline:
            print(f"baseline ({args.baseline}):")
            print(importtime(args.importtime.split(), args.top, args.baseline))
            print("\nthis tree:")
        print(importtime(args.importtime.split(), args.top, None))
        return
    sources: dict[str, str | None] = {"this": None}
    if args.baseline:
        sources = {"baseline": args.baseline, "this": None}
    medians = measure(args.runs, sources)
    if args.json:
        print(json.dumps(medians, indent=2))
        return
    print(f"median of {args.runs} runs (load average now {os.getloadavg()[0]:.2f}); wall / CPU seconds")
    print(f"  {'':<16}" + "".join(f"{name:>20}" for name in sources))
    for label, by_source in medians.items():
        cells = "".join(f"{by_source[name][0]:>9.3f} / {by_source[name][1]:<6.3f}  " for name in sources)
        print(f"  {label:<16}{cells}")


if __name__ == "__main__":
    main()
