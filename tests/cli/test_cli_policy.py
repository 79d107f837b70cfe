"""A laptop project's allow-list (``.reefline/config.yaml``, section ``policy:``) in validate and run."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from reefline.cli.main import app

SPEC = """\
version: 1
name: boxed
stages: [s]
jobs:
  ok:
    script: [echo ok]
  boxed:
    image: evil/miner:latest
    script: [echo mine]
"""


def _config(project: Path, text: str) -> None:
    (project / ".reefline").mkdir(exist_ok=True)
    (project / ".reefline" / "config.yaml").write_text(text, encoding="utf-8")


def test_without_a_config_every_image_is_allowed(runner: CliRunner, project: Path) -> None:
    (project / "reefline.yaml").write_text(SPEC)
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 0, result.output


def test_validate_and_run_report_a_denied_image_at_its_line(runner: CliRunner, project: Path) -> None:
    (project / "reefline.yaml").write_text(SPEC)
    _config(project, "policy:\n  images: [busybox, 'registry.example/team/*']\n")
    expected = (
        "reefline.yaml:8:12: error: image 'evil/miner:latest' is not in the allow-list "
        "(project config .reefline/config.yaml) [RL601]\n"
        "  hint: allowed images: busybox, registry.example/team/*"
    )
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 2
    assert expected in result.stdout
    result = runner.invoke(app, ["run"])
    assert result.exit_code == 2
    assert expected in result.output
    assert not (project / ".reefline" / "reefline.db").exists()  # nothing was recorded, nothing ran


def test_a_denied_executor(runner: CliRunner, project: Path) -> None:
    (project / "reefline.yaml").write_text(
        SPEC.replace("    image: evil/miner:latest\n", "    executor: docker\n")
    )
    _config(project, "policy:\n  executors: [local]\n")
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 2
    assert (
        "reefline.yaml:8:15: error: executor 'docker' is not in the allow-list "
        "(project config .reefline/config.yaml) [RL601]"
    ) in result.stdout


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("policy:\n  images: busybox\n", ".reefline/config.yaml: policy.images: expected a list of strings"),
        ("policy: [\n", ".reefline/config.yaml:2:1: YAML error"),
        ("polcy:\n  images: []\n", ".reefline/config.yaml: unknown section 'polcy' (known: policy)"),
        ("- a\n", ".reefline/config.yaml:1:1: expected a mapping with a `policy:` section"),
    ],
)
def test_a_malformed_config_is_one_error_naming_the_file(
    runner: CliRunner, project: Path, config: str, message: str
) -> None:
    (project / "reefline.yaml").write_text(SPEC)
    _config(project, config)
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 2
    assert message in result.output


def test_a_config_without_a_policy_section_allows_all(runner: CliRunner, project: Path) -> None:
    (project / "reefline.yaml").write_text(SPEC)
    _config(project, "# nothing yet\n")
    assert runner.invoke(app, ["validate"]).exit_code == 0


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"policy:\n  images: [\xff]\n", ".reefline/config.yaml:2:12: not UTF-8 (byte 0xff)"),
        (b"# " + b"x" * (1024 * 1024) + b"\n", ".reefline/config.yaml: larger than 1048576 bytes"),
        (b"policy: &a [*a]\n", ".reefline/config.yaml: policy: expected a mapping"),
    ],
)
def test_odd_config_bytes_are_one_clear_error(
    runner: CliRunner, project: Path, raw: bytes, message: str
) -> None:
    (project / "reefline.yaml").write_text(SPEC)
    (project / ".reefline").mkdir()
    (project / ".reefline" / "config.yaml").write_bytes(raw)
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 2
    assert message in result.output
