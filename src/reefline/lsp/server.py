"""The pygls server: documents, debounced diagnostics, and the feature handlers.

Every handler is wrapped so that no exception escapes: it is logged (stderr, the client's output
channel) and the request answers empty. Diagnostics are computed ``debounce`` seconds after the last
change (0.15 s; ``initializationOptions.debounce`` overrides it); the other requests use the latest
text, re-analysing it first when it changed since the last analysis (completion only reads the context
from the new text and the names from the last analysis, so it stays fast while the user types).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from reefline import __version__
from reefline.lsp import actions, completion, diagnostics, hover, navigation
from reefline.lsp.state import DocumentState, analyze, from_position
from reefline.lsp.units import needs_conversion, to_characters, to_client

log = logging.getLogger("reefline.lsp")
DEBOUNCE = 0.15
F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


class ReeflineServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "reefline", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental
        )
        self.states: dict[str, DocumentState] = {}
        self.timers: dict[str, asyncio.TimerHandle] = {}
        self.debounce = DEBOUNCE

    def text(self, uri: str) -> str:
        return self.workspace.get_text_document(uri).source

    def state(self, uri: str) -> DocumentState:
        """The analysis of the document's current text (made now if the text changed)."""
        text = self.text(uri)
        state = self.states.get(uri)
        if state is None or state.text != text:
            state = analyze(uri, text, state)
            self.states[uri] = state
        return state

    def position(self, uri: str, pos: lsp.Position) -> tuple[int, int]:
        """A client position in the document as the spec's 1-based (line, col) in characters."""
        text = self.text(uri)
        return from_position(to_characters(text.splitlines(), pos) if needs_conversion(text) else pos)

    def answer(self, uri: str, value: T, text: str | None = None) -> T:
        """``value`` with its positions in the client's units."""
        text = self.text(uri) if text is None else text
        if not needs_conversion(text):
            return value
        converted: T = to_client(value, text.splitlines())
        return converted

    def latest(self, uri: str) -> DocumentState:
        """The last analysis, whatever text it was made from (for completion while typing)."""
        state = self.states.get(uri)
        return state if state is not None else self.state(uri)

    def publish(self, uri: str, edited_line: int | None = None) -> None:
        try:
            text = self.text(uri)
            state = self.states.get(uri)
            if state is None or state.text != text:  # a request may have analysed this text already
                state = analyze(uri, text, state, edited_line)
                self.states[uri] = state
            items = self.answer(uri, diagnostics.to_lsp(state), state.text)
        except Exception:
            log.exception("diagnostics failed for %s", uri)
            return
        version = self.workspace.get_text_document(uri).version
        self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri, items, version))

    def schedule(self, uri: str, edited_line: int | None) -> None:
        timer = self.timers.pop(uri, None)
        if timer is not None:
            timer.cancel()
        if self.debounce <= 0:
            self.publish(uri, edited_line)
            return
        loop = asyncio.get_running_loop()
        self.timers[uri] = loop.call_later(self.debounce, self.publish, uri, edited_line)


def safe(default: Any) -> Callable[[F], F]:
    """Log any exception of the handler and answer ``default`` instead."""

    def wrap(f: F) -> F:
        @functools.wraps(f)
        def run(ls: ReeflineServer, params: Any) -> Any:
            try:
                return f(ls, params)
            except Exception:
                log.exception("%s failed", f.__name__)
                return default

        return run  # type: ignore[return-value]

    return wrap


def create_server() -> ReeflineServer:
    server = ReeflineServer()

    _document_features(server)

    @server.feature(
        lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=[".", " ", "[", ",", "{"])
    )
    @safe(None)
    def complete(ls: ReeflineServer, params: lsp.CompletionParams) -> lsp.CompletionList:
        uri = params.text_document.uri
        lines = ls.text(uri).splitlines()
        line, col = ls.position(uri, params.position)
        items = completion.complete(ls.latest(uri), lines, line, col)
        return ls.answer(uri, lsp.CompletionList(is_incomplete=False, items=items))

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    @safe(None)
    def on_hover(ls: ReeflineServer, params: lsp.HoverParams) -> lsp.Hover | None:
        uri = params.text_document.uri
        return ls.answer(uri, hover.hover(ls.state(uri), *ls.position(uri, params.position)))

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    @safe([])
    def on_definition(ls: ReeflineServer, params: lsp.DefinitionParams) -> list[lsp.Location]:
        uri = params.text_document.uri
        return ls.answer(uri, navigation.definition(ls.state(uri), *ls.position(uri, params.position)))

    @server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
    @safe([])
    def on_references(ls: ReeflineServer, params: lsp.ReferenceParams) -> list[lsp.Location]:
        uri = params.text_document.uri
        line, col = ls.position(uri, params.position)
        found = navigation.references(ls.state(uri), line, col, params.context.include_declaration)
        return ls.answer(uri, found)

    @server.feature(lsp.TEXT_DOCUMENT_PREPARE_RENAME)
    @safe(None)
    def on_prepare_rename(ls: ReeflineServer, params: lsp.PrepareRenameParams) -> lsp.Range | None:
        uri = params.text_document.uri
        return ls.answer(uri, navigation.prepare_rename(ls.state(uri), *ls.position(uri, params.position)))

    @server.feature(lsp.TEXT_DOCUMENT_RENAME)
    def on_rename(ls: ReeflineServer, params: lsp.RenameParams) -> lsp.WorkspaceEdit | None:
        try:
            uri = params.text_document.uri
            line, col = ls.position(uri, params.position)
            return ls.answer(uri, navigation.rename(ls.state(uri), line, col, params.new_name))
        except navigation.RenameRefused as exc:
            ls.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Warning, str(exc)))
            return None
        except Exception:
            log.exception("rename failed")
            return None

    @server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    @safe([])
    def on_symbols(ls: ReeflineServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
        uri = params.text_document.uri
        return ls.answer(uri, navigation.symbols(ls.state(uri)))

    @server.feature(
        lsp.TEXT_DOCUMENT_CODE_ACTION, lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix])
    )
    @safe([])
    def on_code_action(ls: ReeflineServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
        uri = params.text_document.uri
        return ls.answer(uri, actions.code_actions(ls.state(uri), params))

    return server


def _document_features(server: ReeflineServer) -> None:
    """Initialization options and the document lifecycle: open, change, close."""

    @server.feature(lsp.INITIALIZE)
    @safe(None)
    def initialize(ls: ReeflineServer, params: lsp.InitializeParams) -> None:
        options = params.initialization_options
        if isinstance(options, dict) and isinstance(options.get("debounce"), int | float):
            ls.debounce = float(options["debounce"])

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    @safe(None)
    def did_open(ls: ReeflineServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.publish(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls: ReeflineServer, params: lsp.DidChangeTextDocumentParams) -> None:
        try:
            edited = None
            last = params.content_changes[-1] if params.content_changes else None
            if isinstance(last, lsp.TextDocumentContentChangePartial):
                edited = last.range.start.line + 1
            ls.schedule(params.text_document.uri, edited)
        except Exception:
            log.exception("didChange failed")

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    @safe(None)
    def did_close(ls: ReeflineServer, params: lsp.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        timer = ls.timers.pop(uri, None)
        if timer is not None:
            timer.cancel()
        ls.states.pop(uri, None)
        ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri, []))


def serve() -> None:
    """Run the server over stdin/stdout until the client says exit."""
    logging.basicConfig(level=logging.WARNING, format="reefline lsp: %(levelname)s %(message)s")
    create_server().start_io()
