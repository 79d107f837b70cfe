"""Reefline beside the peers: `reefline run -j 2` on a generated reefline.yaml of `true` jobs.

Run with the shared harness (see ../shared/bench/peers/README.md):
    PEER_TOOLS_PATH=bench/peers ../shared/bench/peers/run_all.sh --only reefline,floor-subprocess,...
PINS is empty: the harness builds no venv and this script runs the project's own .venv.

Reefline's warm daemon is on, as for any user: the harness's untimed warm-up run starts it, and the
timed commands run in its forks. The peak-RSS and CPU columns then count only the client process
(the fork is not a child of the timed command). Set PEER_REEFLINE_DAEMON=off to time commands that
each run in a process of their own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HARNESS_TOOLS = Path(
    os.environ.get("PEER_HARNESS_TOOLS", Path(__file__).resolve().parents[3] / "shared/bench/peers/tools")
)
sys.path.insert(0, str(HARNESS_TOOLS))
from _common import Cmd, Workload, sh_unit, standalone_main  # noqa: E402

NAME = "reefline"
VENV = "reefline"
PINS: list[str] = []
EXCLUDE_NEWER = None
UNIT = "`true` in bash (set -eo pipefail), one process group per job"
FLOOR = "floor-subprocess"

PROJECT = Path(__file__).resolve().parents[2]
REEFLINE = PROJECT / ".venv" / "bin" / "reefline"


def version(venv: Path | None) -> str:
    out = subprocess.run([str(REEFLINE), "--version"], check=False, capture_output=True, text=True)
    return out.stdout.strip().split()[-1] if out.returncode == 0 else "?"


def init(state: Path, venv: Path | None) -> None:
    pass


def _env(state: Path) -> dict[str, str]:
    # Like the peers' homes and databases, Reefline's store is kept for the whole session.
    env = {"REEFLINE_DATABASE_URL": f"sqlite:///{state / 'reefline.db'}", "PATH": os.environ.get("PATH", "")}
    env["REEFLINE_DAEMON"] = os.environ.get("PEER_REEFLINE_DAEMON", "on")
    source = os.environ.get("PEER_REEFLINE_SRC")  # another checkout's src/ (a git worktree), to compare two
    if source:
        env["PYTHONPATH"] = source
    return env


def prepare(work: Path, wl: Workload, state: Path, venv: Path | None) -> Cmd:
    jobs = {name: {"needs": needs, "script": [sh_unit(wl.sleep)]} for name, needs in wl.tasks()}
    spec = {"version": 1, "name": f"bench-{wl.key}", "jobs": jobs}
    (work / "reefline.yaml").write_text(json.dumps(spec))  # JSON is YAML
    return Cmd([str(REEFLINE), "run", "-j", "2"], work, _env(state))


def count_done(work: Path, cmd: Cmd, stdout: str, stderr: str) -> int:
    out = subprocess.run(
        [str(REEFLINE), "show", "last", "--json"],
        check=False,
        cwd=work,
        env={**os.environ, **cmd.env},
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        return 0
    return sum(1 for job in json.loads(out.stdout)["jobs"] if job["state"] == "success")


if __name__ == "__main__":
    standalone_main(sys.modules[__name__])
