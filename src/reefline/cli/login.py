"""``reefline login`` and ``reefline logout``: a personal API token per server, kept in the user's config."""

from __future__ import annotations

import socket
import sys
from typing import Annotated, Any

import typer

from reefline.cli.common import CliError

LOGIN_EPILOG = """\
[bold]Examples[/]

  $ reefline login --server http://127.0.0.1:8420            # asks for username and password
  $ echo "$PW" | reefline login --server URL --username alice --password-stdin
  $ reefline login --server URL --token rl_…                 # store a token you already have

The token is stored in $XDG_CONFIG_HOME/reefline/credentials.json (mode 0600; default
~/.config/reefline). REEFLINE_SERVER and REEFLINE_TOKEN work instead of a login.
"""

LOGOUT_EPILOG = """\
[bold]Examples[/]

  $ reefline logout                                          # the only server you signed in to
  $ reefline logout --server http://127.0.0.1:8420
"""

ServerOpt = Annotated[
    str | None,
    typer.Option(
        "--server", metavar="URL", help="The server, e.g. http://127.0.0.1:8420.", show_default=False
    ),
]


def _who(me: dict[str, Any]) -> str:
    teams = me.get("teams") or []
    names = ", ".join(f"{t['name']} ({t['role']})" for t in teams if isinstance(t, dict))
    admin = " (site admin)" if me.get("is_admin") else ""
    return f"{me['username']}{admin}" + (f"; teams: {names}" if names else "; in no team yet")


def _free_name(base: str, taken: set[str]) -> str:
    """``base``, or ``base-2``, ``base-3``… when signing in again from the same host."""
    if base not in taken:
        return base
    return next(f"{base}-{n}" for n in range(2, len(taken) + 3) if f"{base}-{n}" not in taken)


def login_command(
    server: Annotated[
        str,
        typer.Option(
            "--server", metavar="URL", help="The server, e.g. http://127.0.0.1:8420.", show_default=False
        ),
    ],
    username: Annotated[
        str | None, typer.Option("--username", "-u", help="Default: asked for.", show_default=False)
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
    token_name: Annotated[
        str | None,
        typer.Option(
            "--token-name", help="Name of the new API token. Default: cli@<this host>.", show_default=False
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            help="Store this API token (checked with the server) instead of signing in.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Sign in to a server and store a personal API token for the CLI.

    Signs in with your username and password, creates a personal API token named after this host,
    and stores it for the server; `reefline push`, `reefline run --server` and the other server
    commands then use it. The password itself is not stored. With --token, stores a token you
    already have (e.g. from `reefline admin create-token`) after checking it.
    """
    from reefline.cli import remote
    from reefline.client import Client

    url = remote.normalize_url(server)
    if token is not None:
        with remote.api_errors(url), Client(url, token.strip()) as client:
            me = client.me()
        remote.save_credential(url, token.strip())
        sys.stdout.write(f"signed in to {url} as {_who(me)}\n")
        return
    if password_stdin:
        if not username:
            raise CliError("--password-stdin needs --username (stdin holds the password)")
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        username = username or typer.prompt("Username")
        password = typer.prompt("Password", hide_input=True)
    if not password:
        raise CliError("the password is empty")
    with remote.api_errors(url), Client(url, "unused") as client:
        client.http.headers.pop("Authorization", None)  # a session cookie, not REEFLINE_TOKEN
        signed_in = client.request("POST", "/auth/login", json={"username": username, "password": password})
        csrf = {"X-CSRF-Token": signed_in["csrf_token"]}
        name = token_name or _free_name(
            f"cli@{socket.gethostname() or 'host'}", {t["name"] for t in client.request("GET", "/me/tokens")}
        )
        created = client.request("POST", "/me/tokens", json={"name": name}, headers=csrf)
        client.request("POST", "/auth/logout", headers=csrf)
    remote.save_credential(url, created["secret"])
    sys.stdout.write(f"signed in to {url} as {_who(signed_in['user'])}\n")
    sys.stdout.write(f"stored API token {name!r} in {remote.credentials_path()}\n")


def logout_command(server: ServerOpt = None) -> None:
    """Revoke the API token stored for a server, on the server, and forget it. When the server cannot
    be reached the token is forgotten all the same, and you are told it is still valid there."""
    from reefline.cli import remote
    from reefline.client import ApiError

    url = remote.resolve_server(server)
    token = remote.load_credentials().get(url)
    if token is None:
        raise CliError(f"not signed in to {url} (nothing stored for it)")
    problem = None
    try:
        remote.connect(url, token).request("POST", "/auth/logout")
    except ApiError as exc:
        if exc.status != 401:  # 401: already revoked or expired, nothing left to do on the server
            problem = exc.message
    remote.forget_credential(url)
    sys.stdout.write(f"signed out of {url}\n")
    if problem is not None:
        sys.stderr.write(
            f"warning: could not revoke the token on the server ({problem}); it stays valid until "
            "revoked (on the web UI's account page)\n"
        )
