"""Permissions, the built-in roles and authorize(): who may do what, and what a stranger sees."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from reefline.services.permissions import (
    BUILTIN_ROLES,
    Permission,
    Principal,
    authorize,
    ensure_builtin_roles,
    parse_permissions,
    require_admin,
)
from reefline.services.types import Forbidden, NotFound
from reefline.store import repo_accounts
from reefline.store.tables import roles

P = Permission
# The table of the module docstring, written out: what each built-in role holds.
MATRIX = {
    P.BOARD_READ: {"viewer", "developer", "maintainer", "owner"},
    P.PIPELINE_READ: {"viewer", "developer", "maintainer", "owner"},
    P.TOKEN_MANAGE: {"viewer", "developer", "maintainer", "owner"},
    P.SECRET_READ: {"developer", "maintainer", "owner"},
    P.PIPELINE_EDIT: {"developer", "maintainer", "owner"},
    P.PIPELINE_RUN: {"developer", "maintainer", "owner"},
    P.RUN_CANCEL: {"developer", "maintainer", "owner"},
    P.BOARD_EDIT: {"maintainer", "owner"},
    P.SECRET_WRITE: {"maintainer", "owner"},
    P.TEAM_MANAGE: {"maintainer", "owner"},
    P.AUDIT_READ: {"maintainer", "owner"},
    P.ROLE_MANAGE: {"owner"},
}


def member(role: str, team_id: int = 1, *, user_id: int = 7) -> Principal:
    return Principal(user_id, "alice", False, {team_id: BUILTIN_ROLES[role]}, {team_id: role})


def test_every_permission_is_in_the_matrix_and_the_names_are_dotted() -> None:
    assert set(MATRIX) == set(Permission)
    assert {p.value for p in Permission} >= {
        "board.read",
        "board.edit",
        "pipeline.read",
        "pipeline.edit",
        "pipeline.run",
        "run.cancel",
        "secret.read",
        "secret.write",
        "team.manage",
        "role.manage",
        "audit.read",
        "token.manage",
    }


@pytest.mark.parametrize("role", sorted(BUILTIN_ROLES))
@pytest.mark.parametrize("perm", list(Permission))
def test_builtin_role_matrix(role: str, perm: Permission) -> None:
    assert member(role).can(1, perm) == (role in MATRIX[perm])


def test_builtin_roles_nest() -> None:
    owner, maintainer, developer, viewer = (
        BUILTIN_ROLES[n] for n in ("owner", "maintainer", "developer", "viewer")
    )
    assert owner > maintainer > developer > viewer


def test_a_member_of_one_team_holds_nothing_in_another() -> None:
    alice = member("owner", team_id=1)
    assert not any(alice.can(2, perm) for perm in Permission)
    assert alice.teams() == {1}


def test_a_stranger_gets_not_found_a_member_without_the_permission_forbidden() -> None:
    viewer = member("viewer", team_id=1)
    authorize(viewer, 1, P.PIPELINE_READ)
    with pytest.raises(Forbidden) as forbidden:
        authorize(viewer, 1, P.PIPELINE_RUN)
    assert "pipeline.run" in str(forbidden.value) and "viewer" in str(forbidden.value)
    assert forbidden.value.details["permission"] == "pipeline.run"
    with pytest.raises(NotFound) as missing:
        authorize(viewer, 2, P.PIPELINE_READ, what="pipeline research/iris")
    assert str(missing.value) == "pipeline research/iris not found"
    # The same answer whether the other team's resource needs a permission the viewer lacks or not.
    with pytest.raises(NotFound):
        authorize(viewer, 2, P.SECRET_WRITE)


def test_a_site_admin_may_do_everything_everywhere() -> None:
    admin = Principal(1, "root", True, {}, all_teams=frozenset({3, 4}))
    for perm in Permission:
        authorize(admin, 99, perm)
    assert admin.teams() == {3, 4}
    require_admin(admin, "create users")
    require_admin(None, "create users")  # the system
    with pytest.raises(Forbidden, match="only a site admin may create users"):
        require_admin(member("owner"), "create users")


def test_ensure_builtin_roles_seeds_once_and_repairs_permissions(store_engine: Engine) -> None:
    with store_engine.begin() as conn:
        ensure_builtin_roles(conn)
        ensure_builtin_roles(conn)
    with store_engine.begin() as conn:
        ensure_builtin_roles(conn)
        stored = {role.name: role for role in repo_accounts.builtin_roles(conn)}
        count = conn.execute(select(func.count()).select_from(roles)).scalar_one()
    assert count == 4
    assert {name: set(role.permissions) for name, role in stored.items()} == {
        name: {p.value for p in perms} for name, perms in BUILTIN_ROLES.items()
    }
    assert all(role.team_id is None for role in stored.values())
    # A built-in role stored by an older version with fewer permissions is brought up to date.
    with store_engine.begin() as conn:
        repo_accounts.set_role_permissions(conn, stored["owner"].id, ["board.read"])
    with store_engine.begin() as conn:
        ensure_builtin_roles(conn)
        owner = {role.name: role for role in repo_accounts.builtin_roles(conn)}["owner"]
    assert set(owner.permissions) == {p.value for p in BUILTIN_ROLES["owner"]}


def test_stored_permission_names_this_version_does_not_know_grant_nothing() -> None:
    assert parse_permissions(["pipeline.run", "pipeline.teleport", 3]) == {P.PIPELINE_RUN}
    assert parse_permissions("pipeline.run") == frozenset()  # not a list: nothing, not its letters
    assert parse_permissions(None) == frozenset()
