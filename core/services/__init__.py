"""Use cases: `fn(*, session, actor, ...) -> plain data`. Permissions are enforced here."""

from core.services.accounts import (
    OPERATOR,
    Actor,
    LoginResult,
    UserView,
    add_user,
    authenticate,
    change_role,
    get_actor,
    list_users,
    reset_password,
    set_active,
)
from core.services.workspace import WorkspaceOverview, workspace_overview

__all__ = [
    "OPERATOR",
    "Actor",
    "LoginResult",
    "UserView",
    "WorkspaceOverview",
    "add_user",
    "authenticate",
    "change_role",
    "get_actor",
    "list_users",
    "reset_password",
    "set_active",
    "workspace_overview",
]
