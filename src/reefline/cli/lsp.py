"""``reefline lsp``: the language server for reefline.yaml, over stdin/stdout (for editors)."""

from __future__ import annotations

from typing import Annotated

import typer

EPILOG = """\
[bold]Examples[/]

$ reefline lsp

Editors start it themselves: the VS Code extension runs it for reefline.yaml and *.reefline.yaml.
Any LSP client works, e.g. Neovim: [dim]vim.lsp.start({ name = "reefline", cmd = {"reefline", "lsp"} })[/]
"""


def lsp_command(
    stdio: Annotated[
        bool, typer.Option("--stdio", help="Talk over stdin/stdout (the default and only transport).")
    ] = True,
) -> None:
    """Run the language server: diagnostics, completion, hover, go to definition, rename.

    It speaks the Language Server Protocol over stdin and stdout and uses the same validator as
    `reefline validate`; it runs until the editor closes it.
    """
    from reefline.lsp.server import serve

    serve()
