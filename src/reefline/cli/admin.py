"""``reefline admin …``: accounts on the server's own machine (the first admin, CI tokens, teams,
a team's allow-list).

These commands open the server's database directly (``REEFLINE_HOME``, or ``REEFLINE_DATABASE_URL``)
and act as the system: no sign-in, and the audit log records them with no user. A secret (a password,
a token) is printed alone on stdout, once, and its explanation on stderr, so
``TOKEN=$(reefline admin create-token alice --name ci)`` works.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from reefline.cli.app import ReeflineCommand, reflow

if TYPE_CHECKING:
    from sqlalchemy import Connection

EPILOG = """\
[bold]Examples[/]

  $ reefline admin create-user alice --admin        # prints a one-time password
  $ reefline admin create-user bob --password-stdin < password.txt
  $ reefline admin create-token alice --name ci --expires-days 90
  $ reefline admin create-team research --owner alice
  $ reefline admin add-member research bob --role developer
  $ reefline admin set-password alice               # prints a new one-time password
  $ reefline admin set-policy research --allow-image 'registry.example/research/*' --allow-executor docker

Run them on the server's machine, with the server's REEFLINE_HOME (and REEFLINE_DATABASE_URL, if set).
"""

admin_app = typer.Typer(
    help="Manage users, API tokens and teams directly in the server's database (REEFLINE_HOME). "
    "Every change is written to the audit log as done by the system.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

F = TypeVar("F", bound=Callable[..., None])


def _command(name: str, epilog: str) -> Callable[[F], F]:
    def register(func: F) -> F:
        admin_app.command(
            name,
            cls=ReeflineCommand,
            help=reflow(inspect.cleandoc(func.__doc__ or "")),
            epilog=reflow(epilog),
        )(func)
        return func

    return register


@contextmanager
def _transaction() -> Iterator[Connection]:
    """One transaction on the server's database (the home is created, the schema brought up to date)."""
    from reefline.services.home import ServerHome
    from reefline.store.db import open_database

    home = ServerHome.from_env().create()
    engine = open_database(home.database_url)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def _secret(value: str) -> None:
    sys.stdout.write(value + "\n")
    sys.stdout.flush()


@_command(
    "create-user",
    "  $ reefline admin create-user alice --admin\n  $ reefline admin create-user bob --password-stdin < pw",
)
def create_user_command(
    name: Annotated[
        str, typer.Argument(help="Username: lowercase letters, digits, '.', '_' and '-'.", show_default=False)
    ],
    admin: Annotated[
        bool, typer.Option("--admin", help="Make the user a site admin (every team, every action).")
    ] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
    display_name: Annotated[
        str | None, typer.Option("--display-name", help="The name shown in the UI.", show_default=False)
    ] = None,
) -> None:
    """Create a user. Unless --password-stdin gives a password, a one-time password is generated and
    printed on stdout: it is shown only this once, so pass it on and have the user change it."""
    from reefline.services import accounts, credentials
    from reefline.services.audit import Actor

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else ""
    generated = not password
    if generated:
        password = credentials.generate_password()
    with _transaction() as conn:
        user = accounts.create_user(
            conn, Actor.system(), name, password=password, is_admin=admin, display_name=display_name
        )
    _say(f"created user {user.username}" + (" (site admin)" if user.is_admin else ""))
    if generated:
        _say(f"one-time password of {user.username} (shown once; sign in and change it):")
        _secret(password)


@_command("create-token", "  $ reefline admin create-token alice --name ci --expires-days 90")
def create_token_command(
    username: Annotated[
        str, typer.Argument(metavar="NAME", help="The user the token signs in as.", show_default=False)
    ],
    name: Annotated[
        str, typer.Option("--name", help="What the token is for, e.g. ci or laptop.", show_default=False)
    ],
    expires_days: Annotated[
        int | None,
        typer.Option(
            "--expires-days", help="Days until the token stops working. Default: never.", show_default=False
        ),
    ] = None,
) -> None:
    """Create a personal API token for a user and print it on stdout: it is shown only this once
    (only its hash is stored). Use it as REEFLINE_TOKEN or an Authorization: Bearer header."""
    from reefline.services import accounts
    from reefline.services.audit import Actor
    from reefline.services.timefmt import iso

    with _transaction() as conn:
        user = accounts.find_user(conn, username)
        token, clear = accounts.create_token(
            conn, Actor.system(), user.id, name, expires_in_days=expires_days
        )
    until = f"expires {iso(token.expires_at)}" if token.expires_at is not None else "never expires"
    _say(f"API token {token.name!r} of {user.username} ({until}; shown once, store it now):")
    _secret(clear)


@_command("create-team", "  $ reefline admin create-team research --owner alice")
def create_team_command(
    name: Annotated[
        str,
        typer.Argument(help="Team name: lowercase letters, digits, '.', '_' and '-'.", show_default=False),
    ],
    owner: Annotated[
        str, typer.Option("--owner", help="Username of the team's first owner.", show_default=False)
    ],
) -> None:
    """Create a team owned by a user (who can then add members and roles from the UI or the API)."""
    from reefline.services import accounts
    from reefline.services.audit import Actor

    with _transaction() as conn:
        team = accounts.create_team(conn, Actor.system(), name, owner=owner)
    sys.stdout.write(f"created team {team.name}, owned by {owner}\n")


@_command("add-member", "  $ reefline admin add-member research bob --role developer")
def add_member_command(
    team: Annotated[str, typer.Argument(help="Team name.", show_default=False)],
    user: Annotated[str, typer.Argument(help="Username.", show_default=False)],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="owner, maintainer, developer, viewer, or one of the team's own roles.",
            show_default=False,
        ),
    ],
) -> None:
    """Add a user to a team with a role."""
    from reefline.services import accounts
    from reefline.services.audit import Actor

    with _transaction() as conn:
        found = accounts.find_team(conn, team)
        member = accounts.add_member(conn, Actor.system(), found.id, user, role)
    sys.stdout.write(f"added {member.username} to team {found.name} as {member.role_name}\n")


@_command(
    "set-password",
    "  $ reefline admin set-password alice\n  $ reefline admin set-password alice --password-stdin < pw",
)
def set_password_command(
    name: Annotated[str, typer.Argument(help="Username.", show_default=False)],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
) -> None:
    """Set a user's password (a locked-out admin, a forgotten password) and end their sessions.
    Unless --password-stdin gives one, a one-time password is generated and printed on stdout, once."""
    from reefline.services import accounts, credentials
    from reefline.services.audit import Actor

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else ""
    generated = not password
    if generated:
        password = credentials.generate_password()
    with _transaction() as conn:
        user = accounts.find_user(conn, name)
        accounts.set_password(conn, Actor.system(), user.id, password)
    _say(f"set the password of {user.username}; their sessions ended")
    if generated:
        _say(f"one-time password of {user.username} (shown once; sign in and change it):")
        _secret(password)


@_command(
    "set-policy",
    "  $ reefline admin set-policy research --allow-image 'registry.example/research/*' "
    "--allow-image busybox --allow-executor local --allow-executor docker\n"
    "  $ reefline admin set-policy research            # shows the policy, changes nothing\n"
    "  $ reefline admin set-policy research --reset    # back to the default: deny",
)
def set_policy_command(
    team: Annotated[str, typer.Argument(help="Team name.", show_default=False)],
    allow_image: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-image",
            metavar="PATTERN",
            help="An image the team may run (repeat it): `busybox` (every tag), `busybox:1.36`, "
            "`registry.example/team/*` (`*` within a path segment; "
            "`registry.example/**`: any depth). Replaces the list.",
            show_default=False,
        ),
    ] = None,
    allow_executor: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-executor",
            metavar="NAME",
            help="An executor the team may use (repeat it): local, docker. Replaces the list.",
            show_default=False,
        ),
    ] = None,
    reset: Annotated[
        bool, typer.Option("--reset", help="Start from the default policy: no image, only `local`.")
    ] = False,
) -> None:
    """Set a team's allow-list of container images and executors: pushes and runs of the team's
    pipelines that use anything else fail validation (RL601) at the image's line. A list not given
    stays as it is. A team without a policy has the default: no image, only the sandboxed local
    executor. Prints the policy."""
    from reefline.services import accounts, team_policy
    from reefline.services.audit import Actor

    with _transaction() as conn:
        found = accounts.find_team(conn, team)
        current = (
            team_policy.reset_team_policy(conn, Actor.system(), found.id)
            if reset
            else team_policy.get_team_policy(conn, found.id)
        )
        if allow_image is not None or allow_executor is not None:
            current = team_policy.set_team_policy(
                conn,
                Actor.system(),
                found.id,
                current.images if allow_image is None else allow_image,
                current.executors if allow_executor is None else allow_executor,
            )
    kind = " (the default)" if current.is_default else ""
    sys.stdout.write(f"policy of team {current.team}{kind}:\n")
    sys.stdout.write(f"  images:    {', '.join(current.images) or '(none)'}\n")
    sys.stdout.write(f"  executors: {', '.join(current.executors) or '(none)'}\n")
