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
    people_names,
    reset_password,
    resume_session,
    set_active,
    sign_out,
)
from core.services.workspace import WorkspaceOverview, currency, set_currency, workspace_overview

__all__ = [
    "OPERATOR",
    "Actor",
    "LoginResult",
    "UserView",
    "WorkspaceOverview",
    "add_user",
    "currency",
    "authenticate",
    "change_role",
    "get_actor",
    "list_users",
    "people_names",
    "reset_password",
    "resume_session",
    "set_active",
    "set_currency",
    "sign_out",
    "workspace_overview",
]
