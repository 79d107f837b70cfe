"""The code fingerprint of an attempt, and its short form in trace frames."""

from __future__ import annotations

import hashlib
from pathlib import Path

from reefline.artifacts.hashing import Hasher
from reefline.engine.fingerprint import code_fingerprint
from reefline.lineage.frames import describe_code
from reefline.plan.ir import PythonCommand, ShellCommand, Step


def _step(command: ShellCommand | PythonCommand) -> Step:
    return Step(id="s", job="s", stage="default", command=command, env=(), needs=())


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_a_script_is_fingerprinted_by_its_rendered_text_and_a_container_by_its_image(tmp_path: Path) -> None:
    step = _step(ShellCommand(("make data", "make model")))
    script = _sha("make data\nmake model")  # the lines as bash gets them
    assert code_fingerprint(step, Hasher(tmp_path)) == {"script_sha256": script}
    in_image = code_fingerprint(step, Hasher(tmp_path), "sha256:" + "e" * 64)
    assert in_image == {"script_sha256": script, "image_id": "sha256:" + "e" * 64}
    assert describe_code(in_image) == f"script {script[:8]} image eeeeeeeeeeee"


def test_an_entry_is_fingerprinted_by_the_workspace_modules_it_imports(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "train.py").write_text("import json\nfrom pkg.util import f\n")
    (tmp_path / "pkg" / "util.py").write_text("def f(): ...\n")
    code = code_fingerprint(_step(PythonCommand("pkg.train:main")), Hasher(tmp_path))
    assert code == {
        "entry": "pkg.train:main",
        "modules": {  # json is not a workspace module: not followed
            "pkg/__init__.py": _sha(""),
            "pkg/train.py": _sha("import json\nfrom pkg.util import f\n"),
            "pkg/util.py": _sha("def f(): ...\n"),
        },
    }
    assert describe_code(code) == "entry pkg.train:main (3 modules)"


def test_an_entry_outside_the_workspace_has_no_modules(tmp_path: Path) -> None:
    code = code_fingerprint(_step(PythonCommand("json:dumps")), Hasher(tmp_path))
    assert code == {"entry": "json:dumps", "modules": {}}
    assert describe_code(code) == "entry json:dumps (0 modules)"
    assert describe_code(None) is None and describe_code({}) is None
