"""The iris example's container variant (examples/iris/reefline.docker.yaml): the same pipeline as the
local one, and, run with `reefline run` in a locally built Debian image, the same winner and metrics."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reefline.spec import load_spec_file
from tests.clean_env import without_reefline_settings

REPO = Path(__file__).resolve().parents[2]
IRIS = REPO / "examples" / "iris"
BUILD = IRIS / "images" / "build.sh"
IMAGE = "reefline-iris:bookworm"
REEFLINE = str(Path(sys.executable).with_name("reefline"))
CHANGES = [
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV PYTHONDONTWRITEBYTECODE=1",
    "WORKDIR /workspace",
    'CMD ["/bin/sh"]',
]  # as build.sh imports it


def test_the_container_variant_is_the_local_pipeline_in_an_image() -> None:
    local, docker = load_spec_file(IRIS / "reefline.yaml"), load_spec_file(IRIS / "reefline.docker.yaml")
    assert local.ok and docker.ok, (local.diagnostics, docker.diagnostics)
    assert local.pipeline is not None and docker.pipeline is not None
    assert docker.pipeline.jobs == local.pipeline.jobs
    assert docker.pipeline.params == local.pipeline.params
    defaults = docker.pipeline.defaults
    assert defaults.executor == "docker"
    assert defaults.image is not None and getattr(defaults.image, "name", None) == IMAGE


def _fail_or_skip(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def _rootfs() -> Path:
    """build.sh's cached rootfs tarball (debootstrap the first time: a few minutes)."""
    if os.geteuid() != 0 or shutil.which("debootstrap") is None:
        _fail_or_skip("building the iris image needs root and debootstrap")
    done = subprocess.run(
        ["sh", str(BUILD), "--tarball"], capture_output=True, text=True, timeout=1200, check=False
    )
    if done.returncode != 0:
        _fail_or_skip(f"build.sh --tarball failed ({done.returncode}): {done.stderr[-2000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


def _run(project: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [REEFLINE, "run", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _results(project: Path) -> dict[str, Any]:
    out = project / "out"
    return {
        "report": (out / "report.md").read_text(),
        "metrics": {p.name: json.loads(p.read_text()) for p in sorted((out / "metrics").glob("*.json"))},
        "data": {p.name: p.read_bytes() for p in sorted((out / "data").glob("*.csv"))},
    }


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_iris_in_a_container_reports_what_the_local_run_reports(
    docker_engine: str, docker_client: Any, tmp_path: Path
) -> None:
    from tests.docker_support import import_image

    import_image(docker_client, IMAGE, _rootfs(), CHANGES)
    env = without_reefline_settings()
    env |= {"NO_COLOR": "1", "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', os.defpath)}"}
    projects = {}
    for variant in ("local", "docker"):
        projects[variant] = tmp_path / variant
        shutil.copytree(
            IRIS, projects[variant], ignore=shutil.ignore_patterns(".reefline", "out", "__pycache__")
        )
    local = _run(projects["local"], env=env)
    assert local.returncode == 0, local.stdout + local.stderr
    docker = _run(projects["docker"], "reefline.docker.yaml", env={**env, "DOCKER_HOST": docker_engine})
    assert docker.returncode == 0, docker.stdout + docker.stderr
    assert "7 jobs: 7 success" in docker.stdout
    in_container, on_host = _results(projects["docker"]), _results(projects["local"])
    assert in_container == on_host  # same split, same metrics, same report
    assert "Best: **tree** (macro F1 0.978 on 45 held-out rows)." in in_container["report"]
    # The models are pickled by other library versions (Debian's scikit-learn and numpy): other bytes.
    models = [(projects[v] / "out" / "models" / "tree.pkl").read_bytes() for v in ("local", "docker")]
    assert models[0] != models[1]
    versions = docker_client.containers.run(
        IMAGE,
        ["python3", "-c", "import sklearn, numpy; print(sklearn.__version__, numpy.__version__)"],
        remove=True,
    )
    assert versions.decode().split()[0].startswith("1.2")  # bookworm's python3-sklearn
