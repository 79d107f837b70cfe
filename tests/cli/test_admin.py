"""`reefline admin …` end to end: the installed script, a temporary REEFLINE_HOME, its database read back."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from reefline.services import accounts, audit
from reefline.store.db import open_database

REEFLINE = str(Path(sys.executable).with_name("reefline"))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def admin(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REEFLINE_DATABASE_URL", "CI", "REEFLINE_HOME")}
    env.update(REEFLINE_HOME=str(home), NO_COLOR="1", COLUMNS="200")
    return subprocess.run(
        [REEFLINE, "admin", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def database(home: Path) -> Iterator[Callable[[], Engine]]:
    """The home's database, opened after the commands under test created it."""
    engines: list[Engine] = []

    def opened() -> Engine:
        engines.append(open_database(f"sqlite:///{home / 'reefline.db'}"))
        return engines[-1]

    yield opened
    for engine in engines:
        engine.dispose()


def test_create_user_prints_a_one_time_password_that_signs_in(
    home: Path, database: Callable[[], Engine]
) -> None:
    result = admin(home, "create-user", "alice", "--admin")
    assert result.returncode == 0, result.stderr
    password = result.stdout.strip()
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,}", password)
    assert "created user alice (site admin)" in result.stderr
    assert "shown once" in result.stderr
    assert (home / "reefline.db").is_file()
    assert oct((home).stat().st_mode & 0o777) == "0o700"
    engine = database()
    with engine.begin() as conn:
        principal = accounts.authenticate(conn, "alice", password, None)
        entry = audit.entries(conn, team_id=None)[0]
    assert principal.is_admin
    assert (entry.action, entry.target, entry.user_id) == ("user.create", "user alice", None)


def test_create_user_with_password_stdin_prints_no_password(
    home: Path, database: Callable[[], Engine]
) -> None:
    result = admin(home, "create-user", "bob", "--password-stdin", stdin="a long secret\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "a long secret" not in result.stderr
    engine = database()
    with engine.begin() as conn:
        assert not accounts.authenticate(conn, "bob", "a long secret", None).is_admin


def test_an_empty_stdin_gets_a_generated_password(home: Path) -> None:
    result = admin(home, "create-user", "carol", "--password-stdin", stdin="")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() and "one-time password of carol" in result.stderr


def test_a_duplicate_or_bad_user_is_an_error_exit_2(home: Path) -> None:
    assert admin(home, "create-user", "alice").returncode == 0
    duplicate = admin(home, "create-user", "alice")
    assert (duplicate.returncode, duplicate.stdout) == (2, "")
    assert duplicate.stderr == "error: a user named alice exists already\n"
    bad = admin(home, "create-user", "Alice")
    assert bad.returncode == 2
    assert bad.stderr == "error: the user name 'Alice' has capital letters: use 'alice'\n"
    short = admin(home, "create-user", "dave", "--password-stdin", stdin="short\n")
    assert (short.returncode, short.stderr) == (2, "error: a password needs at least 8 characters\n")


def test_create_token_prints_a_token_that_resolves(home: Path, database: Callable[[], Engine]) -> None:
    assert admin(home, "create-user", "alice").returncode == 0
    result = admin(home, "create-token", "alice", "--name", "ci", "--expires-days", "30")
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert re.fullmatch(r"rl_[0-9a-f]{8}_[A-Za-z0-9_-]{32,}", token)
    assert "API token 'ci' of alice (expires 20" in result.stderr and "shown once" in result.stderr
    engine = database()
    with engine.begin() as conn:
        assert accounts.resolve_token(conn, token).username == "alice"
    again = admin(home, "create-token", "alice", "--name", "ci")
    assert again.returncode == 2 and "alice has a token named 'ci' already" in again.stderr
    missing = admin(home, "create-token", "nobody", "--name", "ci")
    assert (missing.returncode, missing.stderr) == (2, "error: no user named nobody\n")


def test_create_team_and_add_member(home: Path, database: Callable[[], Engine]) -> None:
    for name in ("alice", "bob"):
        assert admin(home, "create-user", name).returncode == 0
    team = admin(home, "create-team", "research", "--owner", "alice")
    assert (team.returncode, team.stdout) == (0, "created team research, owned by alice\n"), team.stderr
    added = admin(home, "add-member", "research", "bob", "--role", "developer")
    assert (added.returncode, added.stdout) == (0, "added bob to team research as developer\n"), added.stderr
    unknown_role = admin(home, "add-member", "research", "bob", "--role", "boss")
    assert unknown_role.returncode == 2
    assert (
        "error: no role named 'boss' in team research: choose one of developer, maintainer"
        in unknown_role.stderr
    )
    no_team = admin(home, "add-member", "nowhere", "bob", "--role", "viewer")
    assert (no_team.returncode, no_team.stderr) == (2, "error: no team named nowhere\n")
    engine = database()
    with engine.begin() as conn:
        team_id = accounts.find_team(conn, "research").id
        assert {m.username: m.role_name for m in accounts.list_members(conn, team_id)} == {
            "alice": "owner",
            "bob": "developer",
        }
        assert [e.action for e in audit.entries(conn, team_id=team_id)] == ["member.add", "team.create"]


def test_set_policy_shows_replaces_keeps_and_resets(home: Path, database: Callable[[], Engine]) -> None:
    assert admin(home, "create-user", "alice").returncode == 0
    assert admin(home, "create-team", "research", "--owner", "alice").returncode == 0
    shown = admin(home, "set-policy", "research")
    assert shown.stdout == "policy of team research (the default):\n  images:    (none)\n  executors: local\n"
    set_ = admin(
        home,
        "set-policy",
        "research",
        "--allow-image",
        "registry.example/research/*",
        "--allow-image",
        "busybox",
        "--allow-executor",
        "local",
        "--allow-executor",
        "docker",
    )
    assert set_.returncode == 0, set_.stderr
    assert "images:    registry.example/research/*, busybox\n  executors: local, docker\n" in set_.stdout
    kept = admin(home, "set-policy", "research", "--allow-image", "python:3.11")
    assert "images:    python:3.11\n  executors: local, docker\n" in kept.stdout  # executors kept
    bad = admin(home, "set-policy", "research", "--allow-image", "bad name")
    assert bad.returncode == 2 and "error: images: image pattern 'bad name'" in bad.stderr
    engine = database()
    with engine.begin() as conn:
        from reefline.services.team_policy import policy_for_team

        team_id = accounts.find_team(conn, "research").id
        policy = policy_for_team(conn, team_id)
        assert policy.image_allowed("python:3.11") and not policy.image_allowed("busybox")
        assert [e.action for e in audit.entries(conn, team_id=team_id)][:2] == ["team.policy", "team.policy"]
    reset = admin(home, "set-policy", "research", "--reset")
    assert "(the default)" in reset.stdout and "images:    (none)" in reset.stdout
    missing = admin(home, "set-policy", "nowhere")
    assert (missing.returncode, missing.stderr) == (2, "error: no team named nowhere\n")


def test_help_explains_each_command(home: Path) -> None:
    group = admin(home, "--help")
    assert group.returncode == 0
    for command in ("create-user", "create-token", "create-team", "add-member", "set-password", "set-policy"):
        assert command in group.stdout
        detail = admin(home, command, "--help")
        assert detail.returncode == 0 and "$ reefline admin " + command in detail.stdout
    assert "shown only this once" in admin(home, "create-token", "--help").stdout
    assert not home.exists()  # asking for help creates nothing


def test_admin_help_loads_only_the_admin_commands(tmp_path: Path) -> None:
    probe = (
        "import json, sys\n"
        "sys.argv = ['reefline', 'admin', '--help']\n"
        "from reefline.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"open({str(tmp_path / 'mods.json')!r}, 'w').write(json.dumps(sorted(sys.modules)))\n"
    )
    subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    modules = set(json.loads((tmp_path / "mods.json").read_text()))
    assert "reefline.cli.admin" in modules
    assert not modules & {
        "sqlalchemy",
        "argon2",
        "reefline.cli.run",
        "reefline.cli.history",
        "reefline.services.accounts",
    }


def test_set_password_gives_a_locked_out_user_a_new_one(home: Path, database: Callable[[], Engine]) -> None:
    assert admin(home, "create-user", "alice", "--admin").returncode == 0
    result = admin(home, "set-password", "alice")
    assert result.returncode == 0, result.stderr
    assert "set the password of alice" in result.stderr and "shown once" in result.stderr
    chosen = admin(home, "set-password", "alice", "--password-stdin", stdin="my own password\n")
    assert (chosen.returncode, chosen.stdout) == (0, "")
    missing = admin(home, "set-password", "nobody")
    assert (missing.returncode, missing.stderr) == (2, "error: no user named nobody\n")
    engine = database()
    with engine.begin() as conn:
        assert accounts.authenticate(conn, "alice", "my own password", None).username == "alice"
        assert [e.action for e in audit.entries(conn, team_id=None)][:2] == ["user.password", "user.password"]
