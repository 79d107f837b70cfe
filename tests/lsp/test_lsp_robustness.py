"""Random edit sequences on the iris example: every request answers, and no handler raises."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types as lsp

from reefline.lsp import actions, completion, diagnostics, hover, navigation
from reefline.lsp.state import DocumentState, analyze
from tests.lsp.lsp_client import IRIS, LiveServer

TEXT = IRIS.read_text(encoding="utf-8")
CHARS = st.sampled_from([*list("ab:- \n[]{},.$'\"#|&*>\t"), "${{ ", " }}", "params.", "\n  - ", "from: "])
EDIT = st.tuples(st.booleans(), st.floats(0, 1), st.integers(1, 6), CHARS)


def _edit(text: str, edit: tuple[bool, float, int, str]) -> tuple[int, int, str]:
    """(start, end, inserted) offsets of one random insertion or deletion."""
    insert, where, length, chars = edit
    at = int(where * len(text))
    return (at, at, chars) if insert else (at, min(at + length, len(text)), "")


def _everything(state: DocumentState, lines: list[str], line: int, col: int) -> None:
    completion.complete(state, lines, line, col)
    hover.hover(state, line, col)
    navigation.definition(state, line, col)
    navigation.references(state, line, col, True)
    navigation.prepare_rename(state, line, col)
    with contextlib.suppress(navigation.RenameRefused):
        navigation.rename(state, line, col, "renamed")
    navigation.symbols(state)
    found = diagnostics.to_lsp(state)
    r = lsp.Range(lsp.Position(line - 1, col - 1), lsp.Position(line - 1, col - 1))
    actions.code_actions(
        state, lsp.CodeActionParams(lsp.TextDocumentIdentifier(state.uri), r, lsp.CodeActionContext(found))
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(EDIT, min_size=1, max_size=12))
def test_no_feature_raises_on_a_half_typed_document(edits: list[tuple[bool, float, int, str]]) -> None:
    text = TEXT
    state = analyze("file:///work/p/reefline.yaml", text)
    for edit in edits:
        start, end, inserted = _edit(text, edit)
        text = text[:start] + inserted + text[end:]
        line = text.count("\n", 0, start) + 1
        state = analyze(state.uri, text, state, line)
        col = start - (text.rfind("\n", 0, start) + 1) + 1
        _everything(state, text.splitlines(), line, col)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(EDIT, min_size=1, max_size=8))
def test_every_request_answers_while_random_edits_arrive(
    server: LiveServer, edits: list[tuple[bool, float, int, str]]
) -> None:
    client = server.client
    uri = "file:///work/random/reefline.yaml"
    server.do(client.open, uri, TEXT)
    server.call(client.wait_diagnostics(uri))
    text = TEXT
    for edit in edits:
        start, end, inserted = _edit(text, edit)
        a, b = _pos(text, start), _pos(text, end)
        text = text[:start] + inserted + text[end:]
        server.do(client.replace, uri, a, b, inserted)
        server.call(client.wait_diagnostics(uri))  # raises on timeout: the server must publish every time
        line, col = _pos(text, start + len(inserted))
        server.call(client.complete(uri, line, col))  # a JSON-RPC error would raise here
        server.call(client.hover(uri, line, col))
        server.call(client.definition(uri, line, col))
        server.call(client.references(uri, line, col))
        server.call(client.rename(uri, line, col, "renamed"))
        server.call(client.symbols(uri))
        server.call(client.code_actions(uri, list(client.diagnostics[uri])))
    server.do(
        client.lsp.text_document_did_close, lsp.DidCloseTextDocumentParams(lsp.TextDocumentIdentifier(uri))
    )
    server.call(client.wait_diagnostics(uri))


def _pos(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset), offset - (text.rfind("\n", 0, offset) + 1)


def test_every_position_of_the_iris_example_answers() -> None:
    state = analyze("file:///work/p/reefline.yaml", TEXT)
    lines = TEXT.splitlines()
    for n, line in enumerate(lines, start=1):
        for col in range(1, len(line) + 2):
            _everything(state, lines, n, col)
