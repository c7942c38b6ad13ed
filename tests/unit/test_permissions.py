"""The role/action matrix (docs/permissions.md), cell by cell."""

import pytest

from core.permissions import Action, PermissionDenied, Role, allowed_actions, can, require

A, SH, MH, EX, REP, MK = (Role.ADMIN, Role.SALES_HEAD, Role.MARKETING_HEAD, Role.EXEC,
                          Role.SALES_REP, Role.MARKETER)

# The table of DESIGN §7, transcribed row by row: who has "yes".
EXPECTED = {
    Action.MANAGE_USERS: {A},
    Action.EDIT_AGREEMENT: {SH, MH},
    Action.APPROVE_FOR_SALES: {SH},
    Action.APPROVE_FOR_MARKETING: {MH},
    Action.SIGN_OFF: {EX},
    Action.COMMENT: {A, SH, MH, EX},
    Action.IMPORT_DATA: {A, SH, MH, MK},
    Action.WORK_LEADS: {SH, REP},
    Action.DISPUTE_REJECTION: {MH, MK},
    Action.RESOLVE_DISPUTE: {SH, MH},  # added to the table: either head resolves
    Action.CONFIGURE_WORKSPACE: {A},  # added: the workspace's settings (its currency)
    Action.REASSIGN_LEADS: {SH},
    Action.EDIT_LEADS: {SH, MH},  # added: either head corrects a lead's fields
    Action.UNDO_DECISION: {SH, REP},  # a rep: their own, within the window (services)
    Action.VIEW_DASHBOARDS: set(Role),
    Action.MANAGE_INTEGRATIONS: {A},
    Action.MANAGE_CHANNELS: {A},  # added: mail and chat channels, the delivery log
}


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("role", list(Role))
def test_matrix_matches_the_design_table(role, action):
    assert can(role, action) == (role in EXPECTED[action])


@pytest.mark.parametrize(
    ("role", "action"),
    [(role, action) for action in Action for role in Role if role not in EXPECTED[action]],
)
def test_every_no_raises_permission_denied(role, action):
    with pytest.raises(PermissionDenied, match="may not"):
        require(role, action)


def test_allowed_actions_lists_only_the_yes_cells():
    assert allowed_actions(Role.SALES_REP) == [Action.WORK_LEADS, Action.UNDO_DECISION,
                                              Action.VIEW_DASHBOARDS]


def test_a_refusal_reads_as_a_sentence():
    with pytest.raises(PermissionDenied) as refused:
        require(Role.EXEC, Action.IMPORT_DATA)
    assert str(refused.value) == "An executive may not import leads / touches."
    with pytest.raises(PermissionDenied) as refused:
        require(Role.MARKETER, Action.RESOLVE_DISPUTE)
    assert str(refused.value) == "A marketer may not resolve a dispute."
