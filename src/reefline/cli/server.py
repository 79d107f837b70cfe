"""``reefline server``: the REST API and the engine host, in one process by default."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from reefline.server.settings import ServerSettings

EPILOG = """\
[bold]Examples[/]

  $ reefline server                         # API + engine on 127.0.0.1:8420, data in ~/.reefline
  $ REEFLINE_HOME=/srv/reefline reefline server --host 0.0.0.0
  $ REEFLINE_DATABASE_URL=postgresql+psycopg://reefline@db/reefline reefline server --role api

Then create the first admin with [bold]reefline admin create-user NAME --admin[/] and sign in from
the CLI with [bold]reefline login --server http://127.0.0.1:8420[/].
"""


def server_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8420,
    role: Annotated[
        str,
        typer.Option(
            help="all: API and engine in this process; api: answer requests only; engine: run queued "
            "runs only (no HTTP). Several api processes and engines can share one PostgreSQL database."
        ),
    ] = "all",
    job_slots: Annotated[
        int | None,
        typer.Option(help="Jobs this engine runs at once, over all runs. Default: the CPU count.", min=1),
    ] = None,
) -> None:
    """Serve the REST API (OpenAPI at /api/openapi.json, docs at /api/docs) and run queued runs.

    Everything the server keeps lives in REEFLINE_HOME (default ~/.reefline): the SQLite database
    (unless REEFLINE_DATABASE_URL points elsewhere), the secrets key, artifacts, workspaces and full
    logs. Stop it with Ctrl-C or SIGTERM: running runs are handed over to the next start.
    """
    import dataclasses

    from reefline.cli.common import CliError
    from reefline.server.serve import serve
    from reefline.server.settings import Role, ServerSettings

    try:
        chosen = Role(role)
    except ValueError:
        raise CliError(f"--role must be one of all, api, engine (not {role!r})") from None
    settings = ServerSettings(host=host, port=port, role=chosen)
    if job_slots is not None:
        settings = dataclasses.replace(settings, job_slots=job_slots)
    _check_artifacts(settings)
    serve(settings)


def _check_artifacts(settings: ServerSettings) -> None:
    """Reach the artifact store before serving: a bad REEFLINE_ARTIFACTS_URL is one clear error."""
    from reefline.artifacts.hashing import ArtifactError
    from reefline.artifacts.locate import open_artifact_store
    from reefline.cli.common import CliError

    try:
        open_artifact_store(settings.artifacts)
    except ArtifactError as exc:
        raise CliError(f"artifact store (REEFLINE_ARTIFACTS_URL): {exc}") from exc
