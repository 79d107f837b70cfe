"""The edits done on the text itself, so that nothing else in it moves: renaming a job (exact
replacements where the symbol index found it) and deleting one (cutting its lines)."""

from __future__ import annotations

from reefline.spec.rename import RenameRefused, apply_span_edits, rename_edits
from reefline.spec.symbols import Index, Symbol
from reefline.spec.tolerant import Tree
from reefline.spec.yaml_roundtrip import RoundTripError
from reefline.spec.yaml_source import SourceMap, Span, load_yaml


class EditRefused(ValueError):
    """The edit cannot apply; ``field`` names the part of the edit that is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def rename_job(text: str, name: str, new_name: str) -> str:
    """``text`` with job ``name`` renamed at its key and every reference (the LSP's rename)."""
    tree = _exact_tree(text)
    symbol = Symbol("job", name)
    index = Index.build(tree)
    if index.definition(symbol) is None:
        raise EditRefused("name", f"no job '{name}'")
    try:
        return apply_span_edits(text, rename_edits(index, symbol, new_name))
    except RenameRefused as exc:
        raise EditRefused("new_name", str(exc)) from None


def _exact_tree(text: str) -> Tree:
    parsed = load_yaml(text)
    if not parsed.ok:
        first = parsed.diagnostics[0]
        raise RoundTripError(f"line {first.line}:{first.col}: {first.message}")
    return Tree(parsed.data, parsed.source)


def cut_job(text: str, name: str) -> str:
    """``text`` without the job's lines: from the comments right above its key to its last line."""
    tree = _exact_tree(text)
    jobs = tree.data.get("jobs") if isinstance(tree.data, dict) else None
    if not isinstance(jobs, dict) or name not in jobs:
        raise EditRefused("name", f"no job '{name}'")
    source = tree.source
    key = source.keys.get(("jobs", name))
    if key is None:
        raise EditRefused("name", f"job '{name}' has no position in the text")
    lines = text.split("\n")
    if _is_flow(source, lines):
        raise EditRefused("name", "`jobs:` is a flow mapping `{…}`; delete the job in the YAML")
    first, last = key.line, _last_line(source, name, key, lines)
    while first > 1 and _comment_at(lines[first - 2], key.col - 1):
        first -= 1
    before, after = lines[: first - 1], lines[last:]
    if after and not after[0].strip() and (not before or before[-1].rstrip().endswith(":")):
        after = after[1:]  # no blank line left right under `jobs:`
    return "\n".join(before + after)


def _comment_at(line: str, indent: int) -> bool:
    """A comment line at the job key's own indentation (a deeper one ends the job above)."""
    return line.lstrip().startswith("#") and len(line) - len(line.lstrip()) == indent


def _last_line(source: SourceMap, name: str, key: Span, lines: list[str]) -> int:
    """The job's last line: its value's span ends where the next key begins; comments and blank
    lines at the next key's indentation belong to that key."""
    value = source.values.get(("jobs", name))
    if value is None:
        return key.line
    end = value.end_line
    if end > len(lines) or not lines[end - 1][: value.end_col - 1].strip():
        end -= 1
    while end > key.line:
        text = lines[end - 1]
        indent = len(text) - len(text.lstrip())
        if text.strip() and not (text.strip().startswith("#") and indent <= key.col - 1):
            break
        end -= 1
    return end


def _is_flow(source: SourceMap, lines: list[str]) -> bool:
    span = source.values.get(("jobs",))
    if span is None or not 0 < span.line <= len(lines):
        return False
    return lines[span.line - 1][span.col - 1 : span.col].startswith(("{", "["))
