"""Teams, members and roles: who may change what, the last owner, custom roles, and the audit log."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import pytest
from sqlalchemy import Connection, Engine

from reefline.services import accounts, audit
from reefline.services.audit import Actor
from reefline.services.permissions import BUILTIN_ROLES, Permission, Principal
from reefline.services.types import Conflict, Forbidden, Invalid, NotFound

SYSTEM = Actor.system()
P = Permission


@dataclass(frozen=True)
class Team:
    id: int
    owner: int
    maintainer: int
    developer: int
    viewer: int
    outsider: int
    admin: int


@pytest.fixture
def team(store_engine: Engine) -> Team:
    """Team "research": olga owns it, with mia (maintainer), dev (developer) and vic (viewer);
    otto is in no team, root is a site admin."""
    with store_engine.begin() as conn:
        ids = {
            name: accounts.create_user(conn, SYSTEM, name).id
            for name in ("olga", "mia", "dev", "vic", "otto")
        }
        ids["root"] = accounts.create_user(conn, SYSTEM, "root", is_admin=True).id
        team_id = accounts.create_team(conn, SYSTEM, "research", owner="olga").id
        for name, role in (("mia", "maintainer"), ("dev", "developer"), ("vic", "viewer")):
            accounts.add_member(conn, SYSTEM, team_id, name, role)
    return Team(team_id, ids["olga"], ids["mia"], ids["dev"], ids["vic"], ids["otto"], ids["root"])


def who(conn: Connection, user_id: int) -> Principal:
    return accounts.load_principal(conn, user_id).with_remote("10.0.0.1")


def members(conn: Connection, team_id: int) -> dict[str, str]:
    return {m.username: m.role_name for m in accounts.list_members(conn, team_id)}


def test_the_creator_of_a_team_is_its_owner(store_engine: Engine) -> None:
    with store_engine.begin() as conn:
        alice = accounts.create_user(conn, SYSTEM, "alice").id
        created = accounts.create_team(conn, Actor(alice, "10.0.0.1"), "vision")
        assert members(conn, created.id) == {"alice": "owner"}
        principal = who(conn, alice)
        assert principal.holds(created.id) == BUILTIN_ROLES["owner"]
        assert principal.role_names == {created.id: "owner"}
        entry = audit.entries(conn, team_id=created.id)[0]
    assert (entry.action, entry.target, entry.user_id, entry.remote, entry.details) == (
        "team.create",
        "team vision",
        alice,
        "10.0.0.1",
        {"owner": "alice"},
    )


def test_who_may_create_a_team_for_whom(store_engine: Engine, team: Team) -> None:
    with store_engine.begin() as conn:
        with pytest.raises(Invalid, match="name the team's owner"):
            accounts.create_team(conn, SYSTEM, "nobodys")
        with pytest.raises(Forbidden, match="only a site admin may create a team for someone else"):
            accounts.create_team(conn, Actor(team.outsider), "for-olga", owner="olga")
        with pytest.raises(NotFound, match="no user named ghost"):
            accounts.create_team(conn, SYSTEM, "haunted", owner="ghost")
        with pytest.raises(Conflict, match="a team named research exists already"):
            accounts.create_team(conn, Actor(team.outsider), "research")
        with pytest.raises(Invalid, match="the team name 'Research' has capital letters"):
            accounts.create_team(conn, Actor(team.outsider), "Research")
        ops = accounts.create_team(conn, Actor(team.admin), "ops", owner="otto")
        assert members(conn, ops.id) == {"otto": "owner"}


def test_list_teams_for_a_member_and_a_site_admin(store_engine: Engine, team: Team) -> None:
    with store_engine.begin() as conn:
        accounts.create_team(conn, SYSTEM, "ops", owner="otto")
        assert [t.name for t in accounts.list_teams_for(conn, who(conn, team.viewer))] == ["research"]
        assert [t.name for t in accounts.list_teams_for(conn, who(conn, team.outsider))] == ["ops"]
        admin = who(conn, team.admin)
        assert [t.name for t in accounts.list_teams_for(conn, admin)] == ["ops", "research"]
        assert admin.teams() == {t.id for t in accounts.list_teams_for(conn, admin)}
        assert accounts.find_team(conn, "ops").name == "ops"


def test_who_may_add_members_with_which_role(store_engine: Engine, team: Team) -> None:
    with store_engine.begin() as conn:
        accounts.create_user(conn, SYSTEM, "newbie")
        with pytest.raises(Forbidden, match=re.escape("you need the team.manage permission in this team")):
            accounts.add_member(conn, who(conn, team.developer), team.id, "newbie", "viewer")
        with pytest.raises(NotFound, match="team not found"):  # a stranger: the team does not exist for them
            accounts.add_member(conn, who(conn, team.outsider), team.id, "newbie", "viewer")
        with pytest.raises(Forbidden, match=re.escape("you cannot give the role owner: it has role.manage")):
            accounts.add_member(conn, who(conn, team.maintainer), team.id, "newbie", "owner")
        with pytest.raises(NotFound, match="no user named ghost"):
            accounts.add_member(conn, who(conn, team.maintainer), team.id, "ghost", "viewer")
        with pytest.raises(Invalid, match="no role named 'boss' in team research: choose one of"):
            accounts.add_member(conn, who(conn, team.maintainer), team.id, "newbie", "boss")
        added = accounts.add_member(conn, who(conn, team.maintainer), team.id, "newbie", "maintainer")
        assert (added.username, added.role_name) == ("newbie", "maintainer")
        with pytest.raises(Conflict, match="newbie is a member of team research already"):
            accounts.add_member(conn, who(conn, team.owner), team.id, "newbie", "viewer")
        with pytest.raises(NotFound, match="team not found"):
            accounts.add_member(conn, SYSTEM, 9999, "newbie", "viewer")


def test_changing_roles_and_the_last_owner(store_engine: Engine, team: Team) -> None:
    with store_engine.begin() as conn:
        with pytest.raises(Conflict, match="olga is the last owner of team research"):
            accounts.set_member_role(conn, who(conn, team.owner), team.id, "olga", "maintainer")
        with pytest.raises(Forbidden, match="you cannot take away the role owner"):
            accounts.set_member_role(conn, who(conn, team.maintainer), team.id, "olga", "viewer")
        accounts.set_member_role(conn, who(conn, team.maintainer), team.id, "vic", "developer")
        accounts.set_member_role(conn, who(conn, team.owner), team.id, "mia", "owner")
        accounts.set_member_role(conn, who(conn, team.owner), team.id, "olga", "viewer")  # mia owns it now
        assert members(conn, team.id) == {
            "dev": "developer",
            "mia": "owner",
            "olga": "viewer",
            "vic": "developer",
        }
        assert who(conn, team.owner).holds(team.id) == BUILTIN_ROLES["viewer"]
        with pytest.raises(NotFound, match="otto is not a member of team research"):
            accounts.set_member_role(conn, SYSTEM, team.id, "otto", "viewer")


def test_the_last_owner_cannot_leave_but_others_can_without_team_manage(
    store_engine: Engine, team: Team
) -> None:
    with store_engine.begin() as conn:
        with pytest.raises(
            Conflict, match="olga is the last owner of team research: make another member owner"
        ):
            accounts.remove_member(conn, who(conn, team.owner), team.id, "olga")
        with pytest.raises(Conflict, match="last owner"):
            accounts.remove_member(conn, SYSTEM, team.id, "olga")
        accounts.remove_member(conn, who(conn, team.viewer), team.id, "vic")  # leaving needs no permission
        with pytest.raises(Forbidden, match=re.escape("team.manage")):
            accounts.remove_member(conn, who(conn, team.developer), team.id, "mia")
        with pytest.raises(Forbidden, match="you cannot take away the role owner"):
            accounts.remove_member(conn, who(conn, team.maintainer), team.id, "olga")
        accounts.remove_member(conn, who(conn, team.maintainer), team.id, "dev")
        assert members(conn, team.id) == {"mia": "maintainer", "olga": "owner"}
        assert team.id not in who(conn, team.developer).teams()


@pytest.mark.timeout(60)
def test_two_owners_removing_each_other_at_once_leave_one(store_engine: Engine, team: Team) -> None:
    with store_engine.begin() as conn:
        accounts.set_member_role(conn, SYSTEM, team.id, "mia", "owner")
    errors: list[Exception] = []
    first = store_engine.connect()
    first.begin()
    accounts.remove_member(first, SYSTEM, team.id, "mia")

    def second() -> None:
        try:
            with store_engine.begin() as conn:
                accounts.remove_member(conn, SYSTEM, team.id, "olga")
        except Exception as exc:
            errors.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(0.5)  # it waits for the first transaction (a row lock, or SQLite's write lock)
    first.commit()
    first.close()
    thread.join(30)
    assert len(errors) == 1 and isinstance(errors[0], Conflict), errors
    with store_engine.connect() as conn:
        assert members(conn, team.id) == {"dev": "developer", "olga": "owner", "vic": "viewer"}


def test_custom_roles(store_engine: Engine, team: Team) -> None:
    with store_engine.begin() as conn:
        owner = who(conn, team.owner)
        with pytest.raises(Forbidden, match=re.escape("you need the role.manage permission")):
            accounts.create_role(conn, who(conn, team.maintainer), team.id, "runner", ["pipeline.run"])
        with pytest.raises(
            Invalid, match=r"unknown permission\(s\) pipeline.delete, team.admin: choose from"
        ):
            accounts.create_role(
                conn, owner, team.id, "bad", ["pipeline.run", "pipeline.delete", "team.admin"]
            )
        with pytest.raises(Invalid, match="at least one permission"):
            accounts.create_role(conn, owner, team.id, "empty", [])
        with pytest.raises(Conflict, match="viewer is a built-in role"):
            accounts.create_role(conn, owner, team.id, "viewer", ["board.read"])
        role = accounts.create_role(
            conn, owner, team.id, "runner", ["pipeline.run", "board.read", "pipeline.read"]
        )
        assert (role.team_id, role.name, role.permissions) == (
            team.id,
            "runner",
            ("board.read", "pipeline.read", "pipeline.run"),
        )
        with pytest.raises(Conflict, match="team research has a role named runner already"):
            accounts.create_role(conn, owner, team.id, "runner", ["board.read"])
        assert [r.name for r in accounts.list_roles(conn, team.id)] == [
            "developer",
            "maintainer",
            "owner",
            "viewer",
            "runner",
        ]
        accounts.set_member_role(conn, owner, team.id, "vic", "runner")
        vic = who(conn, team.viewer)
        assert vic.holds(team.id) == {P.PIPELINE_RUN, P.BOARD_READ, P.PIPELINE_READ}
        assert vic.can(team.id, P.PIPELINE_RUN) and not vic.can(team.id, P.PIPELINE_EDIT)
        # Another team neither sees nor can use research's role.
        ops = accounts.create_team(conn, SYSTEM, "ops", owner="otto").id
        assert "runner" not in [r.name for r in accounts.list_roles(conn, ops)]
        with pytest.raises(Invalid, match="no role named 'runner' in team ops"):
            accounts.add_member(conn, SYSTEM, ops, "dev", "runner")
        with pytest.raises(Conflict, match="1 member\\(s\\) of team research have the role runner"):
            accounts.delete_role(conn, owner, team.id, "runner")
        with pytest.raises(Invalid, match="owner is a built-in role and cannot be deleted"):
            accounts.delete_role(conn, owner, team.id, "owner")
        accounts.set_member_role(conn, owner, team.id, "vic", "viewer")
        accounts.delete_role(conn, owner, team.id, "runner")
        with pytest.raises(NotFound, match="no role named runner in team research"):
            accounts.delete_role(conn, owner, team.id, "runner")


def test_a_custom_role_cannot_grant_more_than_its_creator_holds(store_engine: Engine, team: Team) -> None:
    with store_engine.begin() as conn:
        accounts.create_role(conn, SYSTEM, team.id, "role-admin", ["role.manage", "board.read"])
        accounts.set_member_role(conn, SYSTEM, team.id, "dev", "role-admin")
        dev = who(conn, team.developer)
        with pytest.raises(
            Forbidden, match=re.escape("a role cannot grant what you do not hold yourself: secret.write")
        ):
            accounts.create_role(conn, dev, team.id, "writer", ["secret.write", "board.read"])
        accounts.create_role(conn, dev, team.id, "reader", ["board.read"])
        accounts.create_role(conn, who(conn, team.admin), team.id, "writer", ["secret.write"])


def test_every_change_is_audited_with_its_team(store_engine: Engine, team: Team) -> None:
    with store_engine.begin() as conn:
        owner = who(conn, team.owner)
        accounts.create_role(conn, owner, team.id, "runner", ["pipeline.run"])
        accounts.add_member(conn, owner, team.id, "otto", "runner")
        accounts.set_member_role(conn, owner, team.id, "otto", "viewer")
        accounts.set_member_role(conn, owner, team.id, "otto", "viewer")  # no change: no entry
        accounts.remove_member(conn, owner, team.id, "otto")
        accounts.delete_role(conn, owner, team.id, "runner")
        entries = list(reversed(audit.entries(conn, team_id=team.id)))
    assert [(e.action, e.user_id, e.details) for e in entries] == [
        ("team.create", None, {"owner": "olga"}),
        ("member.add", None, {"user": "mia", "role": "maintainer"}),
        ("member.add", None, {"user": "dev", "role": "developer"}),
        ("member.add", None, {"user": "vic", "role": "viewer"}),
        ("role.create", team.owner, {"role": "runner", "permissions": ["pipeline.run"]}),
        ("member.add", team.owner, {"user": "otto", "role": "runner"}),
        ("member.role", team.owner, {"user": "otto", "from": "runner", "to": "viewer"}),
        ("member.remove", team.owner, {"user": "otto", "role": "viewer"}),
        ("role.delete", team.owner, {"role": "runner", "permissions": ["pipeline.run"]}),
    ]
    assert {e.target for e in entries} == {"team research"}
    assert {e.remote for e in entries if e.user_id} == {"10.0.0.1"}
