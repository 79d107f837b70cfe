"""Which workspace files a `run:` job's code is made of (static import resolution)."""

from __future__ import annotations

from pathlib import Path

from reefline.engine.code_deps import code_files


def _tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_absolute_relative_and_from_package_imports_are_followed(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/entry.py": "import json\nfrom pkg import sibling\nfrom . import rel\n"
            "from .sub.leaf import x\n",
            "pkg/sibling.py": "import top\n",
            "pkg/rel.py": "def f():\n    from ..outside import nothing  # climbs above the top: ignored\n",
            "pkg/sub/__init__.py": "",
            "pkg/sub/leaf.py": "x = 1\n",
            "top.py": "try:\n    import pkg.sub.leaf\nexcept ImportError:\n    pass\n",
            "unused.py": "",
        },
    )
    assert code_files(tmp_path, "pkg.entry") == [
        "pkg/__init__.py",
        "pkg/entry.py",
        "pkg/rel.py",
        "pkg/sibling.py",
        "pkg/sub/__init__.py",
        "pkg/sub/leaf.py",
        "top.py",
    ]


def test_a_file_that_does_not_parse_is_kept_but_not_followed(tmp_path: Path) -> None:
    _tree(tmp_path, {"entry.py": "import broken\n", "broken.py": "import other\ndef (:\n", "other.py": ""})
    assert code_files(tmp_path, "entry") == ["broken.py", "entry.py"]


def test_import_cycles_end_and_the_file_count_is_bounded(tmp_path: Path) -> None:
    _tree(tmp_path, {"a.py": "import b\n", "b.py": "import a\n"})
    assert code_files(tmp_path, "a") == ["a.py", "b.py"]
    _tree(tmp_path, {f"m{i}.py": f"import m{i + 1}\n" for i in range(50)})
    assert len(code_files(tmp_path, "m0", max_files=10)) == 10


def test_a_symlink_out_of_the_workspace_is_not_followed(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    _tree(tmp_path, {"outside.py": "", "ws/entry.py": "import outside\n"})
    (ws / "outside.py").symlink_to(tmp_path / "outside.py")
    assert code_files(ws, "entry") == ["entry.py"]


def test_a_missing_entry_module_has_no_files(tmp_path: Path) -> None:
    assert code_files(tmp_path, "nope") == []
