"""The SDK recording into a real ``reefline server`` subprocess (REEFLINE_SERVER + REEFLINE_TOKEN), and
a server that is not there: a warning, and the function's result unchanged."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.clean_env import without_reefline_settings
from tests.cli.test_remote import Server, _free_port, _start

SCRIPT = """\
from pathlib import Path

import reefline


@reefline.component(name="featurize", owner="alice", kind="featurizer")
def featurize(raw_path: str, out_path: str) -> int:
    Path(out_path).write_text(Path(raw_path).read_text() * 2)
    reefline.log_output("prediction-1", inputs=[out_path])
    return 42


@reefline.component(name="explode")
def explode() -> None:
    raise RuntimeError("boom")


print(featurize("raw.csv", "features.csv"))
try:
    explode()
except RuntimeError as exc:
    print("raised", exc)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    with _start(tmp_path_factory.mktemp("sdk-server"), None) as started:
        token = started.ok("admin", "create-token", "alice", "--name", "sdk").stdout.strip()
        yield started, token


def _script(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "raw.csv").write_text("a,b\n")
    (tmp_path / "sdk_script.py").write_text(SCRIPT)
    clean = without_reefline_settings()
    return subprocess.run(
        [sys.executable, "sdk_script.py"],
        cwd=tmp_path,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_component_runs_go_to_the_server_and_not_to_the_project(
    server: tuple[Server, str], tmp_path: Path
) -> None:
    started, token = server
    done = _script(tmp_path, REEFLINE_SERVER=started.url, REEFLINE_TOKEN=token)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["42", "raised boom"]
    assert "warning" not in done.stderr, done.stderr
    listed = httpx.get(
        f"{started.url}/api/teams/research/components",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()
    assert [(c["name"], c["kind"], c["owner"], c["runs"], c["last_status"]) for c in listed] == [
        ("explode", "component", None, 1, "failed"),
        ("featurize", "featurizer", "alice", 1, "success"),
    ]
    assert not (tmp_path / ".reefline").exists()  # nothing went into a local store


def test_a_wrong_token_or_a_missing_server_is_a_warning_and_the_result_stands(
    server: tuple[Server, str], tmp_path: Path
) -> None:
    started, _ = server
    refused = _script(tmp_path, REEFLINE_SERVER=started.url, REEFLINE_TOKEN="rl_not_a_token")
    assert refused.returncode == 0 and refused.stdout.splitlines() == ["42", "raised boom"]
    assert "reefline: warning: could not record the run of component 'featurize'" in refused.stderr
    gone = _script(tmp_path, REEFLINE_SERVER=f"http://127.0.0.1:{_free_port()}", REEFLINE_TOKEN="rl_x")
    assert gone.returncode == 0 and gone.stdout.splitlines() == ["42", "raised boom"]
    assert "cannot reach" in gone.stderr and "Traceback" not in gone.stderr
