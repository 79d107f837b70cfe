"""YAML text ⇄ ruamel.yaml's round-trip tree, keeping comments, key order, quotes and indentation.

ruamel.yaml writes one indentation style per document, so the style is guessed by trying the common
ones and keeping the first that reproduces the text byte for byte; line endings (CRLF) and a
missing final newline are put back as they were. The text is first read by the spec's own loader,
whose size, depth and alias limits stop a hostile document before ruamel.yaml composes it.
"""

from __future__ import annotations

import difflib
import io
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from reefline.spec.yaml_source import load_yaml

# (mapping, sequence, offset): block sequences indented under their key, or flush with it
_STYLES = ((2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 6, 4), (4, 4, 0), (3, 3, 0), (3, 5, 2))


class RoundTripError(ValueError):
    """The text cannot be edited as YAML; the message says where and why."""


@dataclass(slots=True)
class Document:
    """An editable tree and how to write it back like its source."""

    root: Any
    style: tuple[int, int, int]
    newline: str
    final_newline: bool
    exact: bool  # writing the unedited tree reproduces the source byte for byte
    source: str = ""  # the text it was read from ("\n" line ends)
    written: str = ""  # the unedited tree written in ``style``

    def dump(self) -> str:
        text = _dump(self.root, self.style)
        if not self.exact:
            text = _patched(self.source, self.written, text)
        if not self.final_newline and text.endswith("\n"):
            text = text[:-1]
        return text.replace("\n", self.newline) if self.newline != "\n" else text


def _patched(source: str, written: str, edited: str) -> str:
    """The change from ``written`` to ``edited`` applied to ``source``, for a document whose style
    (say block sequences indented under some keys and flush under others) ruamel.yaml cannot
    reproduce: only the changed lines take its style. Where a change touches a line that ruamel.yaml
    wrote differently, there is no telling where it goes in the source, and ``edited`` is returned."""
    ours, base, new = (
        source.splitlines(keepends=True),
        written.splitlines(keepends=True),
        edited.splitlines(True),
    )
    to_source: dict[int, int] = {}
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, base, ours, autojunk=False).get_opcodes():
        # equal lines, and runs re-indented line for line (the same count on both sides)
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            for k in range(i2 - i1):
                to_source[i1 + k] = j1 + k
    out = list(ours)
    changes = difflib.SequenceMatcher(None, base, new, autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in reversed(changes):
        if tag == "equal":
            continue
        if i1 < i2:
            if not all(i in to_source for i in range(i1, i2)):
                return edited
            start, end = to_source[i1], to_source[i2 - 1] + 1
            if end - start != i2 - i1:
                return edited
        elif i1 - 1 in to_source or i1 == 0:
            start = end = to_source[i1 - 1] + 1 if i1 else 0
        elif i1 in to_source:
            start = end = to_source[i1]
        else:
            return edited
        out[start:end] = new[j1:j2]
    return "".join(out)


def load_document(text: str) -> Document:
    """The round-trip tree of ``text``. Raises :class:`RoundTripError` for text that is not one YAML
    mapping within the loader's limits."""
    checked = load_yaml(text)
    if not checked.ok:
        first = checked.diagnostics[0]
        raise RoundTripError(f"line {first.line}:{first.col}: {first.message}")
    if not isinstance(checked.data, dict):
        raise RoundTripError("the document must be a mapping (version, name, jobs, …)")
    newline = "\r\n" if "\r\n" in text else "\n"
    plain = text.replace("\r\n", "\n")
    final = plain.endswith("\n")
    best: Document | None = None
    for style in _STYLES:
        try:
            root = _yaml(style).load(plain)
            written = _dump(root, style)
        except (YAMLError, ValueError, TypeError, RecursionError) as exc:
            raise RoundTripError(f"the YAML cannot be edited: {exc}") from None
        exact = written == plain or (not final and written == plain + "\n")
        if exact:
            return Document(root, style, newline, final, True)
        if best is None:
            best = Document(root, style, newline, final, False, plain, written)
    assert best is not None
    return best


def _yaml(style: tuple[int, int, int]) -> YAML:
    yaml = YAML(typ="rt", pure=True)
    yaml.preserve_quotes = True
    yaml.width = 1_000_000  # never fold a long line the user wrote on one
    yaml.allow_duplicate_keys = False
    mapping, sequence, offset = style
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def _dump(root: Any, style: tuple[int, int, int]) -> str:
    out = io.StringIO()
    _yaml(style).dump(root, out)
    return out.getvalue()
