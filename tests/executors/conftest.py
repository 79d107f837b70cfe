from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from exec_support import DockerHarness, FakeHarness, Harness, LocalHarness, kill_all, leftovers

from reefline.executors.base import StepContext


@pytest.fixture(params=["local", "fake", "local+sandbox", "docker"])
def harness(request: pytest.FixtureRequest) -> Harness:
    if request.param == "docker":
        from tests.docker_support import BUSYBOX

        return DockerHarness(request.getfixturevalue("docker_engine"), BUSYBOX)
    if request.param == "local+sandbox":
        if shutil.which("bwrap") is None and os.environ.get("CI") != "true":
            pytest.skip("bubblewrap (bwrap) is not installed")
        return LocalHarness(sandbox=True)
    return LocalHarness() if request.param == "local" else FakeHarness()


@pytest.fixture
def marker() -> Iterator[str]:
    """A unique env value for this test's processes; anything left carrying it is killed after."""
    value = uuid.uuid4().hex
    yield value
    kill_all(leftovers(value, settle=0))


@pytest.fixture
def ctx(tmp_path: Path, marker: str) -> StepContext:
    env = {**os.environ, "REEFLINE_TEST_MARKER": marker}
    return StepContext(run_id=1, attempt=1, workspace=tmp_path, env=env)
