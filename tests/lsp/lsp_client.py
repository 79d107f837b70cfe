"""A real LSP client (pygls) talking to ``reefline lsp`` in a subprocess over stdio."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parents[2]
IRIS = ROOT / "examples" / "iris" / "reefline.yaml"
REEFLINE = Path(sys.executable).parent / "reefline"


class Client:
    """A pygls client plus the diagnostics the server published, per URI."""

    def __init__(self, client: LanguageClient) -> None:
        self.lsp = client
        self.diagnostics: dict[str, list[lsp.Diagnostic]] = {}
        self.published: asyncio.Queue[tuple[str, list[lsp.Diagnostic]]] = asyncio.Queue()
        self.versions: dict[str, int] = {}
        self.texts: dict[str, str] = {}

    def open(self, uri: str, text: str) -> None:
        self.versions[uri] = 1
        self.texts[uri] = text
        item = lsp.TextDocumentItem(uri=uri, language_id="yaml", version=1, text=text)
        self.lsp.text_document_did_open(lsp.DidOpenTextDocumentParams(item))

    def replace(self, uri: str, start: tuple[int, int], end: tuple[int, int], text: str) -> None:
        """Replace the text from ``start`` to ``end`` (0-based line, character) by ``text``."""
        self.versions[uri] += 1
        r = lsp.Range(lsp.Position(*start), lsp.Position(*end))
        change = lsp.TextDocumentContentChangePartial(range=r, text=text)
        doc = lsp.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri])
        self.lsp.text_document_did_change(lsp.DidChangeTextDocumentParams(doc, [change]))

    def set_text(self, uri: str, text: str) -> None:
        self.versions[uri] += 1
        self.texts[uri] = text
        doc = lsp.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri])
        change = lsp.TextDocumentContentChangeWholeDocument(text=text)
        self.lsp.text_document_did_change(lsp.DidChangeTextDocumentParams(doc, [change]))

    async def wait_diagnostics(self, uri: str, timeout: float = 10) -> list[lsp.Diagnostic]:
        """The next diagnostics published for ``uri``."""
        while True:
            got, items = await asyncio.wait_for(self.published.get(), timeout)
            if got == uri:
                return items

    async def complete(self, uri: str, line: int, col: int) -> list[lsp.CompletionItem]:
        params = lsp.CompletionParams(lsp.TextDocumentIdentifier(uri), lsp.Position(line, col))
        result = await self.lsp.text_document_completion_async(params)
        if result is None:
            return []
        return result.items if isinstance(result, lsp.CompletionList) else list(result)

    async def hover(self, uri: str, line: int, col: int) -> lsp.Hover | None:
        params = lsp.HoverParams(lsp.TextDocumentIdentifier(uri), lsp.Position(line, col))
        return await self.lsp.text_document_hover_async(params)

    async def definition(self, uri: str, line: int, col: int) -> Any:
        params = lsp.DefinitionParams(lsp.TextDocumentIdentifier(uri), lsp.Position(line, col))
        return await self.lsp.text_document_definition_async(params)

    async def references(self, uri: str, line: int, col: int, declaration: bool = True) -> Any:
        params = lsp.ReferenceParams(
            context=lsp.ReferenceContext(declaration),
            text_document=lsp.TextDocumentIdentifier(uri),
            position=lsp.Position(line, col),
        )
        return await self.lsp.text_document_references_async(params)

    async def rename(self, uri: str, line: int, col: int, name: str) -> lsp.WorkspaceEdit | None:
        params = lsp.RenameParams(lsp.TextDocumentIdentifier(uri), lsp.Position(line, col), name)
        return await self.lsp.text_document_rename_async(params)

    async def symbols(self, uri: str) -> Any:
        params = lsp.DocumentSymbolParams(lsp.TextDocumentIdentifier(uri))
        return await self.lsp.text_document_document_symbol_async(params)

    async def code_actions(self, uri: str, diagnostics: list[lsp.Diagnostic]) -> Any:
        r = diagnostics[0].range if diagnostics else lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0))
        params = lsp.CodeActionParams(lsp.TextDocumentIdentifier(uri), r, lsp.CodeActionContext(diagnostics))
        return await self.lsp.text_document_code_action_async(params)


@asynccontextmanager
async def reefline_lsp(debounce: float | None = None) -> AsyncIterator[Client]:
    """``reefline lsp`` started and initialized; shut down and exited afterwards."""
    raw = LanguageClient("reefline-tests", "1")
    client = Client(raw)

    @raw.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_diagnostics(params: lsp.PublishDiagnosticsParams) -> None:
        client.diagnostics[params.uri] = params.diagnostics
        client.published.put_nowait((params.uri, params.diagnostics))

    await raw.start_io(str(REEFLINE), "lsp", "--stdio")  # as the VS Code extension starts it
    options = {"debounce": debounce} if debounce is not None else None
    await raw.initialize_async(
        lsp.InitializeParams(
            capabilities=lsp.ClientCapabilities(), root_uri=ROOT.as_uri(), initialization_options=options
        )
    )
    raw.initialized(lsp.InitializedParams())
    try:
        yield client
    finally:
        await raw.shutdown_async(None)
        raw.exit(None)
        await raw.stop()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


class LiveServer:
    """One ``reefline lsp`` for many tests: its client runs on an event loop in a thread of its own."""

    def __init__(self, debounce: float | None = None) -> None:
        import threading

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self._cm = reefline_lsp(debounce)
        self.client: Client = self.call(self._cm.__aenter__())

    def call(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def do(self, fn: Any, *args: Any) -> Any:
        """Run a plain client method (a notification) on the client's loop."""

        async def inner() -> Any:
            return fn(*args)

        return self.call(inner())

    def close(self) -> None:
        try:
            self.call(self._cm.__aexit__(None, None, None))
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)


def position(text: str, needle: str, offset: int = 0, nth: int = 0) -> tuple[int, int]:
    """The 0-based (line, character) of the ``nth`` occurrence of ``needle`` in ``text``, plus ``offset``."""
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
    at += offset
    line = text.count("\n", 0, at)
    return line, at - (text.rfind("\n", 0, at) + 1)


def apply(text: str, edits: list[lsp.TextEdit]) -> str:
    """``text`` with the edits applied (last first, so earlier positions stay valid)."""
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)

    def at(p: lsp.Position) -> int:
        return offsets[p.line] + p.character

    for edit in sorted(edits, key=lambda e: at(e.range.start), reverse=True):
        text = text[: at(edit.range.start)] + edit.new_text + text[at(edit.range.end) :]
    return text
