"""Accounts: users, sign-in, sessions, API tokens, teams, members and roles.

Every verb takes a connection first and never commits (:func:`authenticate` records each attempt
in a transaction of its own, see there).
Mutating verbs take the caller as ``actor``, either

- a :class:`Principal` (the API: a signed-in user; its ``remote`` goes to the audit log),
- an :class:`Actor` of a user: the principal is loaded from the store, so it is checked the same way,
- ``Actor.system()`` (the admin CLI on the server's machine): allowed everything.

and check themselves what the caller may do (the permission each needs is in its docstring), and
record one audit entry per change, in the caller's transaction. Secrets never reach the audit log.
"""

from reefline.services.accounts._common import (
    LOGIN_WINDOW,
    MAX_FAILURES_PER_REMOTE,
    MAX_FAILURES_PER_USERNAME,
    MAX_PASSWORD,
    MAX_TOKEN_DAYS,
    MIN_PASSWORD,
    NAME_PATTERN,
    SESSION_TTL,
    TOKEN_TOUCH_INTERVAL,
    WRONG_CREDENTIALS,
    Caller,
    check_name,
    load_principal,
)
from reefline.services.accounts.roles import (
    create_role,
    delete_role,
    list_roles,
    role_permissions,
)
from reefline.services.accounts.signin import (
    authenticate,
    create_session,
    end_session,
    resolve_session,
)
from reefline.services.accounts.teams import (
    add_member,
    create_team,
    find_team,
    get_team,
    list_members,
    list_teams_for,
    remove_member,
    set_member_role,
)
from reefline.services.accounts.tokens import (
    create_token,
    list_tokens,
    resolve_token,
    revoke_presented_token,
    revoke_token,
)
from reefline.services.accounts.users import (
    create_user,
    deactivate_user,
    find_user,
    get_user,
    list_users,
    set_password,
)

__all__ = [
    "LOGIN_WINDOW",
    "MAX_FAILURES_PER_REMOTE",
    "MAX_FAILURES_PER_USERNAME",
    "MAX_PASSWORD",
    "MAX_TOKEN_DAYS",
    "MIN_PASSWORD",
    "NAME_PATTERN",
    "SESSION_TTL",
    "TOKEN_TOUCH_INTERVAL",
    "WRONG_CREDENTIALS",
    "Caller",
    "add_member",
    "authenticate",
    "check_name",
    "create_role",
    "create_session",
    "create_team",
    "create_token",
    "create_user",
    "deactivate_user",
    "delete_role",
    "end_session",
    "find_team",
    "find_user",
    "get_team",
    "get_user",
    "list_members",
    "list_roles",
    "list_teams_for",
    "list_tokens",
    "list_users",
    "load_principal",
    "remove_member",
    "resolve_session",
    "resolve_token",
    "revoke_presented_token",
    "revoke_token",
    "role_permissions",
    "set_member_role",
    "set_password",
]
