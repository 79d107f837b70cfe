"""A laptop project's allow-list: the ``policy:`` section of ``<project>/.reefline/config.yaml``.

::

    policy:
      images: [busybox, "registry.example/team/*"]   # absent: any image
      executors: [local, docker]                      # absent: any executor

No file, or no ``policy:`` section: everything is allowed (the laptop's owner is the one at risk).
The file sits in ``.reefline/``, which is kept out of git, so a pipeline's author cannot allow
an image for whoever runs the pipeline.
"""

from __future__ import annotations

from pathlib import Path

from reefline.services.types import ServiceError
from reefline.spec.policy import Policy, PolicyError

CONFIG_FILE = Path(".reefline") / "config.yaml"
MAX_CONFIG_BYTES = 1024 * 1024
_KNOWN_SECTIONS = ("policy",)


def project_policy(project_dir: Path) -> Policy | None:
    """The project's policy, or None (allow all). A malformed file is a ServiceError naming it."""
    path = project_dir / CONFIG_FILE
    shown = str(CONFIG_FILE)
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ServiceError(f"{shown}: cannot read: {exc.strerror}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ServiceError(f"{shown}: larger than {MAX_CONFIG_BYTES} bytes")
    data = _parse(raw, shown)
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ServiceError(f"{shown}:1:1: expected a mapping with a `policy:` section")
    unknown = sorted(str(k) for k in data if k not in _KNOWN_SECTIONS)
    if unknown:
        raise ServiceError(f"{shown}: unknown section {unknown[0]!r} (known: {', '.join(_KNOWN_SECTIONS)})")
    if data.get("policy") is None:
        return None
    try:
        return Policy.from_mapping(data["policy"], f"project config {shown}")
    except PolicyError as exc:
        raise ServiceError(f"{shown}: {exc}") from None


def _parse(raw: bytes, shown: str) -> object:
    import yaml

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line, col = before.count(b"\n") + 1, exc.start - (before.rfind(b"\n") + 1) + 1
        raise ServiceError(f"{shown}:{line}:{col}: not UTF-8 (byte 0x{raw[exc.start]:02x})") from None
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{shown}:{mark.line + 1}:{mark.column + 1}" if mark is not None else shown
        raise ServiceError(f"{where}: YAML error: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ServiceError(f"{shown}: YAML error: {exc}") from None
