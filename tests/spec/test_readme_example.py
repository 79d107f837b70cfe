"""The language reference in the README is a spec too: it must stay valid."""

from __future__ import annotations

from pathlib import Path

from reefline.spec import load_spec

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_language_example_is_valid() -> None:
    text = README.read_text()
    start = text.index("```yaml\nversion: 1") + len("```yaml\n")
    spec = text[start : text.index("```", start)]
    result = load_spec(spec, "README.md")
    assert result.ok, [d.format() for d in result.diagnostics]
    assert result.pipeline is not None and len(result.pipeline.jobs) == 3
